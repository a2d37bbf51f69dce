import { useEffect, useState } from 'preact/hooks';
import { claimsOf, isExpired, saveToken, signOut, takeToken } from './auth';
import { ChatSession } from './session';
import { ConversationList } from './ConversationList';
import { ConversationPane } from './ConversationPane';
import { KeyBackupPanel } from './KeyBackup';

/** The chat app: sign-in from a link (or a pasted token), then the conversation list and one conversation. */
export function App() {
  const [token, setToken] = useState<string | null>(() => takeToken());
  const [session, setSession] = useState<ChatSession | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [, setTick] = useState(0);
  const [backupOpen, setBackupOpen] = useState(false);

  useEffect(() => {
    if (!token) return;
    const claims = claimsOf(token);
    if (!claims) return setError('This is not a sign-in token.');
    if (isExpired(claims)) return setError('This sign-in link has expired: ask for a new one (npm run cli -- seed prints fresh links).');
    let s: ChatSession | null = null;
    let closed = false;
    ChatSession.start(token, claims.sub, claims.tid, () => setError('This account is open in another tab of this browser: close it, and this tab goes on.')).then(
      (started) => {
        if (closed) return started.close();
        s = started;
        setError(null);
        setSession(started);
      },
      (err: Error) => setError(`Sign-in failed: ${err.message}`),
    );
    return () => {
      closed = true;
      s?.close();
    };
  }, [token]);

  useEffect(() => session?.subscribe(() => setTick((t) => t + 1)), [session]);

  if (!token || (error && !session)) return <SignIn error={error} onToken={(t) => (saveToken(t), setError(null), setToken(t))} />;
  if (!session) return <p class="center muted">Signing in and loading this device's keys…</p>;
  return (
    <div class={`chat${session.openId ? ' has-open' : ''}`}>
      <aside class="sidebar">
        <div class="bar">
          <h1 class="grow">Chats</h1>
          <span class={`dot${session.connected ? ' online' : ''}`} title={session.connected ? 'connected' : 'offline'} />
          <span class="muted" data-testid="me">{session.userId}</span>
          <button onClick={() => setBackupOpen(!backupOpen)} aria-label="Key backup">
            🔑
          </button>
          <button
            onClick={() => {
              session.close();
              signOut();
              setSession(null);
              setToken(null);
            }}
          >
            Sign out
          </button>
        </div>
        {session.notice && <p class="error" role="alert">{session.notice}</p>}
        {session.backup?.state === 'restorable' && !backupOpen && (
          <p class="card row" data-testid="restore-offer">
            <span class="grow">Earlier messages are in your key backup.</span>
            <button onClick={() => setBackupOpen(true)}>Restore with recovery key</button>
          </p>
        )}
        {backupOpen && <KeyBackupPanel session={session} onClose={() => setBackupOpen(false)} />}
        <ConversationList session={session} />
      </aside>
      <section class="main">{session.openId && <ConversationPane key={session.openId} session={session} conversationId={session.openId} />}</section>
    </div>
  );
}

function SignIn(props: { error: string | null; onToken: (t: string) => void }) {
  const [value, setValue] = useState('');
  return (
    <form
      class="card center stack"
      onSubmit={(e) => {
        e.preventDefault();
        if (value.trim()) props.onToken(value.trim());
      }}
    >
      <h1>Sign in</h1>
      <p class="muted">
        Open a sign-in link: <code>npm run cli -- seed</code> prints one per demo user. An application signs its users in the same way, with a token
        its backend gets from <code>POST /v1/users/:id/tokens</code> in the link's fragment (<code>/app#token=…</code>).
      </p>
      {props.error && <p class="error" role="alert">{props.error}</p>}
      <label>
        Or paste a token
        <textarea rows={3} value={value} onInput={(e) => setValue((e.target as HTMLTextAreaElement).value)} />
      </label>
      <button class="primary" type="submit">Sign in</button>
    </form>
  );
}
