import { useEffect, useState } from 'preact/hooks';
import type { AppInfo } from './api.js';

/** Picks a feed: a group of the app and a user id. `flatOnly` for views that need flat feeds. */
export function FeedPicker(props: { app: AppInfo; feed: string; onPick: (feed: string) => void; flatOnly?: boolean; label?: string }) {
  const groups = props.app.feed_groups.filter((g) => !props.flatOnly || g.type === 'flat');
  const [group, setGroup] = useState(props.feed.split(':')[0] || groups[0]?.name || '');
  const [user, setUser] = useState(props.feed.includes(':') ? props.feed.slice(props.feed.indexOf(':') + 1) : '');
  useEffect(() => {
    if (!props.feed) return;
    setGroup(props.feed.split(':')[0]);
    setUser(props.feed.slice(props.feed.indexOf(':') + 1));
  }, [props.feed]);
  return (
    <form
      class="picker"
      onSubmit={(e) => {
        e.preventDefault();
        if (group && user.trim()) props.onPick(`${group}:${user.trim()}`);
      }}
    >
      <select aria-label="feed group" value={group} onChange={(e) => setGroup((e.target as HTMLSelectElement).value)}>
        {groups.map((g) => (
          <option key={g.name} value={g.name}>
            {g.name} ({g.type})
          </option>
        ))}
      </select>
      <span>:</span>
      <input aria-label="feed user id" placeholder="user id, e.g. alice" value={user} onInput={(e) => setUser((e.target as HTMLInputElement).value)} />
      <button type="submit">{props.label ?? 'Read'}</button>
    </form>
  );
}
