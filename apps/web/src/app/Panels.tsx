import { useEffect, useState } from 'preact/hooks';
import type { DeviceView } from '@sdk';
import type { ChatSession, UiMessage } from './session';
import type { SafetyEntry } from './e2e-v2';
import { MessageItem } from './MessageItem';

export type Panel = { kind: 'thread'; parentId: string } | { kind: 'search' } | { kind: 'devices' } | null;

function usePanelAction() {
  const [error, setError] = useState<string | null>(null);
  const run = (fn: () => Promise<void>) => fn().then(() => setError(null), (e: Error) => setError(e.message));
  return { error, run };
}

/** A thread: the parent message, its replies (decrypted here) and a composer for a reply. */
export function ThreadPanel({ session, conversationId, parentId, onClose }: { session: ChatSession; conversationId: string; parentId: string; onClose: () => void }) {
  const [text, setText] = useState('');
  const { error, run } = usePanelAction();
  useEffect(() => void run(() => session.loadThread(conversationId, parentId)), [conversationId, parentId]);
  const parent = session.messages.get(conversationId)?.get(parentId);
  return (
    <aside class="panel" aria-label="Thread">
      <div class="bar">
        <h2 class="grow">Thread</h2>
        <button onClick={onClose} aria-label="Close the thread">✕</button>
      </div>
      <div class="messages">
        {parent && <MessageItem session={session} ui={parent} />}
        {session.threadReplies(parentId).map((m) => (
          <MessageItem key={m.view.id} session={session} ui={m} />
        ))}
      </div>
      {error && <p class="error" role="alert">{error}</p>}
      <form
        class="composer"
        onSubmit={(e) => {
          e.preventDefault();
          const body = text.trim();
          if (body) void run(async () => (await session.reply(conversationId, parentId, body), setText('')));
        }}
      >
        <input type="text" name="reply" aria-label="Reply in thread" placeholder="Reply" value={text} onInput={(e) => setText((e.target as HTMLInputElement).value)} />
        <button class="primary" type="submit">Reply</button>
      </form>
    </aside>
  );
}

/** Search in one conversation: blind-index tokens computed here, matches decrypted here. */
export function SearchPanel({ session, conversationId, onClose }: { session: ChatSession; conversationId: string; onClose: () => void }) {
  const [query, setQuery] = useState('');
  const [results, setResults] = useState<UiMessage[] | null>(null);
  const { error, run } = usePanelAction();
  return (
    <aside class="panel" aria-label="Search">
      <div class="bar">
        <h2 class="grow">Search</h2>
        <button onClick={onClose} aria-label="Close the search">✕</button>
      </div>
      <form
        class="composer"
        onSubmit={(e) => {
          e.preventDefault();
          if (query.trim()) void run(async () => setResults(await session.search(conversationId, query.trim())));
        }}
      >
        <input type="text" name="search" aria-label="Search words" placeholder="Whole words" value={query} onInput={(e) => setQuery((e.target as HTMLInputElement).value)} />
        <button type="submit">Search</button>
      </form>
      {error && <p class="error" role="alert">{error}</p>}
      <div class="messages">
        {results?.length === 0 && <p class="muted">No match.</p>}
        {results?.map((m) => <MessageItem key={m.view.id} session={session} ui={m} />)}
      </div>
    </aside>
  );
}

/**
 * My devices (the key directory's view; this browser is one of them), and per user of the conversation
 * their devices in its MLS group with the SDK's safety numbers, to compare out of band.
 */
export function DevicesPanel({ session, conversationId, onClose }: { session: ChatSession; conversationId: string; onClose: () => void }) {
  const [devices, setDevices] = useState<DeviceView[] | null>(null);
  const [safety, setSafety] = useState<SafetyEntry[] | null>(null);
  const { error, run } = usePanelAction();
  const load = () => run(async () => setDevices((await session.client.myDevices()).data));
  useEffect(() => void load(), []);
  useEffect(() => void run(async () => setSafety(await session.v2.safetyNumbers(conversationId))), [conversationId]);
  return (
    <aside class="panel" aria-label="Devices">
      <div class="bar">
        <h2 class="grow">Devices</h2>
        <button onClick={onClose} aria-label="Close the device list">✕</button>
      </div>
      {error && <p class="error" role="alert">{error}</p>}
      <h3>My devices</h3>
      <ul class="convs">
        {devices?.map((d) => (
          <li key={d.device_id}>
            <div class="grow">
              <div class="name">
                {d.device_id} {d.device_id === session.e2e.deviceId && <span class="tag">this browser</span>}
              </div>
              <div class="muted">key version {d.key_version} · since {new Date(d.created_at).toLocaleString()}</div>
            </div>
            {d.device_id !== session.e2e.deviceId && (
              <button class="danger" onClick={() => confirm(`Remove ${d.device_id}? It will receive no new messages.`) && void run(async () => (await session.client.removeDevice(d.device_id), await load()))}>
                Remove
              </button>
            )}
          </li>
        ))}
      </ul>
      <h3>Safety numbers</h3>
      <p class="muted">Each user's number covers every device of theirs in this conversation. Compare it with theirs in person or on a call: if it differs, a device you do not know is in the conversation.</p>
      <ul class="convs" data-testid="safety-numbers">
        {safety?.map((u) => (
          <li key={u.userId} data-user={u.userId}>
            <div class="grow">
              <div class="name">
                {u.userId === session.userId ? 'You' : session.names.get(u.userId)} <span class="muted">({u.devices.length} device{u.devices.length === 1 ? '' : 's'}: {u.devices.join(', ')})</span>
              </div>
              <code data-testid="fingerprint">{u.fingerprint}</code>
              {u.withMe && (
                <div>
                  <span class="muted">Safety number with you: </span>
                  <code data-testid="safety-number">{u.withMe}</code>
                </div>
              )}
            </div>
          </li>
        ))}
      </ul>
    </aside>
  );
}
