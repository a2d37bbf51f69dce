import { useState } from 'preact/hooks';
import type { ChatSession } from './session';

/** The conversations, newest activity first, with unread counts and decrypted previews; new direct and group chats. */
export function ConversationList({ session }: { session: ChatSession }) {
  const [mode, setMode] = useState<'none' | 'direct' | 'group'>('none');
  const [who, setWho] = useState('');
  const [name, setName] = useState('');
  const [error, setError] = useState<string | null>(null);
  const create = async (e: Event) => {
    e.preventDefault();
    setError(null);
    const ids = who.split(',').map((s) => s.trim()).filter(Boolean);
    try {
      const id = mode === 'direct' ? await session.openDirect(ids[0] ?? '') : await session.createGroup(name || 'New group', ids);
      setMode('none');
      setWho('');
      setName('');
      await session.open(id);
    } catch (err) {
      setError((err as Error).message);
    }
  };
  return (
    <>
      <div class="bar">
        <button onClick={() => setMode(mode === 'direct' ? 'none' : 'direct')}>New chat</button>
        <button onClick={() => setMode(mode === 'group' ? 'none' : 'group')}>New group</button>
      </div>
      {mode !== 'none' && (
        <form class="stack bar" style={{ display: 'block' }} onSubmit={create}>
          {mode === 'group' && (
            <label>
              Group name
              <input value={name} onInput={(e) => setName((e.target as HTMLInputElement).value)} />
            </label>
          )}
          <label>
            {mode === 'direct' ? 'User id' : 'Member user ids (comma-separated)'}
            <input name="who" required value={who} onInput={(e) => setWho((e.target as HTMLInputElement).value)} />
          </label>
          {error && <p class="error" role="alert">{error}</p>}
          <button class="primary" type="submit">{mode === 'direct' ? 'Open chat' : 'Create group'}</button>
        </form>
      )}
      <ul class="convs" aria-label="Conversations">
        {session.sortedConversations().map((c) => {
          const open = () => void session.open(c.id);
          return (
            <li
              key={c.id}
              tabIndex={0}
              class={session.openId === c.id ? 'active' : ''}
              data-conversation={c.id}
              onClick={open}
              onKeyDown={(e) => (e.key === 'Enter' || e.key === ' ') && (e.preventDefault(), open())}
            >
              <div class="grow" style={{ minWidth: 0 }}>
                <div class="name">{session.title(c)}</div>
                <div class="preview">{c.last_message ? (session.previews.get(c.id) ?? '🔒 encrypted message') : 'No messages yet'}</div>
              </div>
              {c.unread_count > 0 && <span class="badge" aria-label={`${c.unread_count} unread`}>{c.unread_count}</span>}
            </li>
          );
        })}
      </ul>
    </>
  );
}
