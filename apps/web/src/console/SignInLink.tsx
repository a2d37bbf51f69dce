import { useState } from 'preact/hooks';
import { describe } from './api';

/**
 * With an API key just revealed (held in this page's memory only), makes a chat-app sign-in link for an
 * end user, exactly as a SaaS backend would: PUT /v1/users/:id, then POST /v1/users/:id/tokens with the
 * key. No admin privilege is involved; the key needs users:write.
 */
export function SignInLink({ apiKey }: { apiKey: string }) {
  const [userId, setUserId] = useState('demo-user');
  const [link, setLink] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const call = async (method: string, path: string, body: unknown) => {
    const res = await fetch(path, { method, headers: { 'X-Api-Key': apiKey, 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
    const json = (await res.json().catch(() => null)) as { token?: string; error?: { code: string; message: string } } | null;
    if (!res.ok) throw new Error(json?.error ? `${json.error.code}: ${json.error.message}` : `HTTP ${res.status}`);
    return json;
  };
  return (
    <form
      class="row"
      aria-label="Make a chat sign-in link"
      onSubmit={async (e) => {
        e.preventDefault();
        setError(null);
        try {
          const path = `/v1/users/${encodeURIComponent(userId)}`;
          await call('PUT', path, { profile: { display_name: userId } });
          const { token } = (await call('POST', `${path}/tokens`, {}))!;
          setLink(`${location.origin}/app#token=${encodeURIComponent(token!)}`);
        } catch (err) {
          setError(describe(err));
        }
      }}
    >
      <label>
        End user id
        <input name="link-user" value={userId} onInput={(e) => setUserId((e.target as HTMLInputElement).value)} />
      </label>
      <button type="submit">Make a chat sign-in link</button>
      {link && (
        <a href={link} target="_blank" rel="noopener noreferrer" data-testid="sign-in-link">
          Open the chat app as {userId}
        </a>
      )}
      {error && <span class="error" role="alert">{error}</span>}
    </form>
  );
}
