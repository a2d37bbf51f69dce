import { useEffect, useRef, useState } from 'preact/hooks';
import type { ChatSession } from './session';
import { MessageItem } from './MessageItem';
import { DevicesPanel, SearchPanel, ThreadPanel, type Panel } from './Panels';

const TYPING_EVERY_MS = 2000;

/** One conversation: history (older pages on demand), live messages, typing, presence, composer with file upload. */
export function ConversationPane({ session, conversationId }: { session: ChatSession; conversationId: string }) {
  const c = session.conversations.get(conversationId);
  const [text, setText] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [panel, setPanel] = useState<Panel>(null);
  const list = useRef<HTMLDivElement>(null);
  const lastTyping = useRef(0);
  const fileInput = useRef<HTMLInputElement>(null);
  const messages = session.sortedMessages(conversationId);
  const newest = messages[messages.length - 1]?.view.id;

  useEffect(() => {
    list.current?.scrollTo({ top: list.current.scrollHeight });
  }, [newest]);
  // Escape closes a side panel, then the conversation (back to the list on a phone).
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.key !== 'Escape' || (e.target instanceof HTMLInputElement && e.target.value)) return;
      if (panel) setPanel(null);
      else void session.open(null);
    };
    addEventListener('keydown', onKey);
    return () => removeEventListener('keydown', onKey);
  }, [panel, session]);

  if (!c) return null;
  const others = c.participants.map((p) => p.user_id).filter((u) => u !== session.userId);
  const typers = session.typers(conversationId);

  const run = async (fn: () => Promise<void>) => {
    setBusy(true);
    setError(null);
    try {
      await fn();
    } catch (err) {
      setError((err as Error).message);
    } finally {
      setBusy(false);
    }
  };
  const send = (e: Event) => {
    e.preventDefault();
    const body = text.trim();
    if (!body) return;
    void run(async () => {
      await session.sendText(conversationId, body);
      setText('');
    });
  };

  return (
    <>
      <div class="bar">
        <button class="back" onClick={() => void session.open(null)} aria-label="Back to chats">←</button>
        <div class="grow">
          <h1 data-testid="conversation-title">{session.title(c)}</h1>
          <span class="muted">
            {others.map((u) => (
              <span key={u} class="row" style={{ display: 'inline-flex', marginRight: '0.6rem' }}>
                <span class={`dot${session.presence.get(u) === 'online' ? ' online' : ''}`} /> {session.names.get(u)}
              </span>
            ))}
          </span>
        </div>
        <span class="tag" title="Messages are encrypted in this browser with the conversation's MLS group key (E2E v2)">🔒 end-to-end encrypted</span>
        <button onClick={() => setPanel(panel?.kind === 'search' ? null : { kind: 'search' })} aria-label="Search in this conversation">🔍</button>
        <button onClick={() => setPanel(panel?.kind === 'devices' ? null : { kind: 'devices' })}>Devices</button>
      </div>
      {panel?.kind === 'thread' && <ThreadPanel session={session} conversationId={conversationId} parentId={panel.parentId} onClose={() => setPanel(null)} />}
      {panel?.kind === 'search' && <SearchPanel session={session} conversationId={conversationId} onClose={() => setPanel(null)} />}
      {panel?.kind === 'devices' && <DevicesPanel session={session} conversationId={conversationId} onClose={() => setPanel(null)} />}
      <div class="messages" ref={list} aria-live="polite">
        {session.hasOlder.get(conversationId) && (
          <button onClick={() => void run(() => session.loadOlder(conversationId))} disabled={busy}>
            Load older messages
          </button>
        )}
        {messages.map((m) => (
          <MessageItem
            key={m.view.id}
            session={session}
            ui={m}
            receipt={m.view.sender_id === session.userId ? session.receipt(conversationId, m.view.seq) : undefined}
            onThread={() => setPanel({ kind: 'thread', parentId: m.view.id })}
          />
        ))}
      </div>
      <div class="typing" aria-live="polite">{typers.length ? `${typers.map((u) => session.names.get(u)).join(', ')} ${typers.length > 1 ? 'are' : 'is'} typing…` : ''}</div>
      {error && <p class="error" role="alert" style={{ padding: '0 0.8rem' }}>{error}</p>}
      <form class="composer" onSubmit={send}>
        <input
          type="text"
          name="message"
          aria-label="Message"
          placeholder="Message"
          autoComplete="off"
          value={text}
          onInput={(e) => {
            setText((e.target as HTMLInputElement).value);
            if (Date.now() - lastTyping.current > TYPING_EVERY_MS) {
              lastTyping.current = Date.now();
              session.typingNow(conversationId);
            }
          }}
        />
        <input
          ref={fileInput}
          type="file"
          name="file"
          aria-label="Attach a file"
          hidden
          onChange={(e) => {
            const f = (e.target as HTMLInputElement).files?.[0];
            if (f) void run(() => session.sendFile(conversationId, f)).then(() => fileInput.current && (fileInput.current.value = ''));
          }}
        />
        <button type="button" onClick={() => fileInput.current?.click()} disabled={busy} aria-label="Attach a file">📎</button>
        <button class="primary" type="submit" disabled={busy}>Send</button>
      </form>
    </>
  );
}
