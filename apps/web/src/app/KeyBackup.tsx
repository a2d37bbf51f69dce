import { useState } from 'preact/hooks';
import type { ChatSession } from './session';

/**
 * Key backup (docs/e2e.md, "Key backup"): set it up (the recovery key is shown once and must be
 * confirmed as saved), or, on a new browser or after clearing site data, restore the earlier history
 * with the recovery key. The SDK does the cryptography; the server keeps ciphertext only.
 */
export function KeyBackupPanel({ session, onClose }: { session: ChatSession; onClose: () => void }) {
  const [recoveryKey, setRecoveryKey] = useState<string | null>(null);
  const [saved, setSaved] = useState(false);
  const [input, setInput] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const state = session.backup?.state;
  const run = async (fn: () => Promise<void>) => {
    setBusy(true);
    setError(null);
    try {
      await fn();
    } catch (err) {
      const e = err as Error & { code?: string };
      setError(e.code === 'AUTHENTICATION_FAILED' ? 'This recovery key does not open your backup.' : e.message);
    } finally {
      setBusy(false);
    }
  };

  return (
    <section class="card stack" aria-label="Key backup">
      <div class="bar">
        <h2 class="grow">Key backup</h2>
        {!recoveryKey && (
          <button onClick={onClose} aria-label="Close key backup">
            ✕
          </button>
        )}
      </div>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      {recoveryKey ? (
        <>
          <p>
            Your <strong>recovery key</strong>. It is shown this once: write it down or keep it in a password manager. With it, a new browser reads your
            earlier messages; without it, nobody can (not even the service).
          </p>
          <code class="recovery" data-testid="recovery-key">
            {recoveryKey}
          </code>
          <label class="check">
            <input type="checkbox" name="saved" checked={saved} onChange={(e) => setSaved((e.target as HTMLInputElement).checked)} /> I have saved my recovery key
          </label>
          <button class="primary" disabled={!saved} onClick={() => (setRecoveryKey(null), setDone('Key backup is on.'), onClose())}>
            Done
          </button>
        </>
      ) : state === 'none' ? (
        <>
          <p class="muted">Back up the keys of your conversations, encrypted in this browser under a recovery key only you hold.</p>
          <button class="primary" disabled={busy} onClick={() => void run(async () => setRecoveryKey(await session.setUpBackup()))}>
            Set up key backup
          </button>
        </>
      ) : state === 'restorable' ? (
        <form
          class="stack"
          onSubmit={(e) => {
            e.preventDefault();
            void run(async () => setDone(`Restored ${await session.restoreBackup(input)} keys: earlier messages are readable here.`));
          }}
        >
          <p class="muted">A key backup exists for your account. Enter your recovery key to read your earlier messages in this browser.</p>
          <input type="text" name="recovery-key" aria-label="Recovery key" autoComplete="off" value={input} onInput={(e) => setInput((e.target as HTMLInputElement).value)} />
          <button class="primary" type="submit" disabled={busy || !input.trim()}>
            Restore with recovery key
          </button>
        </form>
      ) : state === 'on' ? (
        <p data-testid="backup-on">Key backup is on: {session.backup?.entries ?? 0} keys backed up from your devices.</p>
      ) : (
        <p class="muted">Checking…</p>
      )}
      {done && <p data-testid="backup-done">{done}</p>}
    </section>
  );
}
