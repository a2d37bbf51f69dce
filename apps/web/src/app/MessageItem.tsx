import { useState } from 'preact/hooks';
import type { ChatSession, UiMessage } from './session';

const QUICK_REACTIONS = ['👍', '❤️', '😂'];

function size(n: number): string {
  return n < 1024 ? `${n} B` : n < 1024 * 1024 ? `${(n / 1024).toFixed(1)} KiB` : `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

/** One message: decrypted text or file, reactions, edit/delete for my own, its receipt (sent, delivered, read). */
export function MessageItem({ session, ui, receipt, onThread }: { session: ChatSession; ui: UiMessage; receipt?: 'read' | 'delivered' | 'sent'; onThread?: () => void }) {
  const m = ui.view;
  const mine = m.sender_id === session.userId;
  const [editing, setEditing] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const act = (fn: () => Promise<void>) => fn().catch((err: Error) => setError(err.message));
  const time = new Date(m.created_at).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });

  if (ui.notice) {
    return (
      <div class="msg system" data-seq={m.seq} data-testid="notice">
        🔑 {ui.notice}
      </div>
    );
  }
  if (ui.system) {
    return (
      <div class="msg system" data-seq={m.seq}>
        {ui.text} <span class="tag warn" title="Written by the server, not by a member: not end-to-end encrypted">not end-to-end encrypted</span>
      </div>
    );
  }
  const open = async () => {
    const blob = await session.download(ui);
    const url = URL.createObjectURL(blob);
    const a = document.createElement('a');
    a.href = url;
    a.download = ui.file?.name ?? 'file';
    document.body.appendChild(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60_000);
  };

  return (
    <div class={`msg${mine ? ' mine' : ''}`} data-seq={m.seq} data-message={m.id}>
      {!mine && <div class="muted" title={m.sender_id}>{session.names.get(m.sender_id)}</div>}
      {m.deleted_at ? (
        <em class="muted">message deleted</em>
      ) : ui.error ? (
        <em class="muted" data-testid="decrypt-error">🔒 {ui.error}</em>
      ) : editing !== null ? (
        <form
          class="row"
          onSubmit={(e) => {
            e.preventDefault();
            void act(async () => {
              await session.edit(m.conversation_id, m.id, editing);
              setEditing(null);
            });
          }}
        >
          <input aria-label="Edit message" value={editing} onInput={(e) => setEditing((e.target as HTMLInputElement).value)} />
          <button type="submit">Save</button>
          <button type="button" onClick={() => setEditing(null)}>Cancel</button>
        </form>
      ) : ui.file ? (
        <div>
          📄 <button class="file" onClick={() => void act(open)}>{ui.file.name ?? 'file'}</button> <span class="muted">{size(ui.file.size)}</span>
        </div>
      ) : (
        <div class="text">{ui.text}</div>
      )}
      {ui.reactions.length > 0 && (
        <div class="reactions">
          {ui.reactions.map((r) => (
            <span key={r.emoji} title={r.mine ? 'you reacted' : ''}>
              {r.emoji} {r.count}
            </span>
          ))}
        </div>
      )}
      <div class="meta">
        <span>{time}</span>
        {m.edited_at && !m.deleted_at && <span>edited</span>}
        {mine && receipt && <span data-testid="receipt">{receipt}</span>}
      </div>
      {!m.deleted_at && !ui.error && editing === null && (
        <div class="actions">
          {QUICK_REACTIONS.map((e) => (
            <button key={e} aria-label={`React ${e}`} onClick={() => void act(() => session.toggleReaction(ui, e))}>
              {e}
            </button>
          ))}
          {onThread && <button onClick={onThread}>{m.thread?.reply_count ? `Thread (${m.thread.reply_count})` : 'Reply in thread'}</button>}
          {mine && ui.text !== undefined && <button onClick={() => setEditing(ui.text ?? '')}>Edit</button>}
          {mine && <button class="danger" onClick={() => void act(() => session.remove(m.conversation_id, m.id))}>Delete</button>}
        </div>
      )}
      {error && <div class="error">{error}</div>}
    </div>
  );
}
