// Riverside: a small social app built only from Stream's react-activity-feed UI kit and the
// getstream client. Nothing here knows it talks to Rivulet except the two URLs the backend hands
// out with the user token (`apiUrl`, `fayeUrl`).
import { useCallback, useEffect, useState } from 'react';
import { render } from 'react-dom';
import {
  Activity,
  ActivityFooter,
  Avatar,
  CommentField,
  CommentList,
  FlatFeed,
  FollowButton,
  LoadMorePaginator,
  NotificationDropdown,
  StatusUpdateForm,
  StreamApp,
  useStreamContext,
} from 'react-activity-feed';
import 'react-activity-feed/dist/index.css';
import './app.css';

const STORAGE_KEY = 'riverside-user';

function initialUser() {
  return new URLSearchParams(window.location.search).get('user') ?? window.localStorage.getItem(STORAGE_KEY);
}

async function getJson(url) {
  const res = await fetch(url);
  const body = await res.json();
  if (!res.ok) throw new Error(body.error ?? `${url}: ${res.status}`);
  return body;
}

/** The id of an activity's author: enriched actors are objects, plain ones `SU:<id>` references. */
function authorOf(activity) {
  const actor = activity.actor;
  if (actor && typeof actor === 'object') return actor.id;
  return typeof actor === 'string' ? actor.replace(/^SU:/, '') : null;
}

function App() {
  const [users, setUsers] = useState([]);
  const [userId, setUserId] = useState(initialUser);
  const [session, setSession] = useState(null);
  const [error, setError] = useState(null);

  useEffect(() => {
    getJson('/api/users').then((b) => setUsers(b.users), (e) => setError(e.message));
  }, []);

  useEffect(() => {
    if (!userId) return setSession(null);
    let live = true;
    getJson(`/api/session?user=${encodeURIComponent(userId)}`).then(
      (s) => {
        if (!live) return;
        window.localStorage.setItem(STORAGE_KEY, userId);
        setSession(s);
      },
      (e) => {
        if (!live) return;
        window.localStorage.removeItem(STORAGE_KEY);
        setError(e.message);
        setUserId(null);
      },
    );
    return () => {
      live = false;
    };
  }, [userId]);

  const signOut = useCallback(() => {
    window.localStorage.removeItem(STORAGE_KEY);
    window.history.replaceState(null, '', '/');
    setSession(null);
    setUserId(null);
  }, []);

  if (!session) return <SignIn users={users} error={error} onPick={setUserId} />;
  return (
    <StreamApp
      key={session.user.id}
      apiKey={session.apiKey}
      appId={session.appId}
      token={session.token}
      options={{ urlOverride: { api: session.apiUrl }, fayeUrl: session.fayeUrl }}
    >
      <Home me={session.user} users={users} onSignOut={signOut} />
    </StreamApp>
  );
}

function SignIn({ users, error, onPick }) {
  return (
    <div className="signin">
      <h1>Riverside</h1>
      <p>
        A small social app on Stream&apos;s <code>react-activity-feed</code> UI kit and the <code>getstream</code> client,
        served by Rivulet. Sign in as one of these people:
      </p>
      {error && <p className="error">{error}</p>}
      <ul className="people-grid">
        {users.map((u) => (
          <li key={u.id}>
            <button type="button" data-testid={`sign-in-${u.id}`} onClick={() => onPick(u.id)}>
              <img src={u.profileImage} alt="" width="56" height="56" />
              <strong>{u.name}</strong>
              <span>{u.bio}</span>
            </button>
          </li>
        ))}
      </ul>
    </div>
  );
}

function Home({ me, users, onSignOut }) {
  // Remounting the timeline reloads it: after a post of one's own and after a follow change.
  const [timelineKey, setTimelineKey] = useState(0);
  const reload = useCallback(() => setTimelineKey((k) => k + 1), []);
  return (
    <div className="page">
      <header className="topbar">
        <div className="brand">Riverside</div>
        <div className="me">
          <NotificationDropdown notify right />
          <Avatar image={me.profileImage} size={32} circle />
          <span className="me-name" data-testid="signed-in-as">
            {me.name}
          </span>
          <button type="button" className="link" onClick={onSignOut}>
            Switch person
          </button>
        </div>
      </header>
      <div className="columns">
        <main className="main">
          <StatusUpdateForm className="compose" feedGroup="user" onSuccess={reload} />
          <FlatFeed
            key={timelineKey}
            feedGroup="timeline"
            notify
            options={{ limit: 10, withRecentReactions: true, withOwnReactions: true, withReactionCounts: true }}
            Paginator={LoadMorePaginator}
            Activity={Post}
          />
        </main>
        <aside className="side">
          <People me={me} users={users} onChange={reload} />
        </aside>
      </div>
    </div>
  );
}

/** A post with likes and comments; reactions to someone else's post also go to their notification feed. */
function Post({ activity, feedGroup, userId }) {
  const { user } = useStreamContext();
  const author = authorOf(activity);
  const targetFeeds = author && author !== user?.id ? [`notification:${author}`] : [];
  return (
    <div className="post" data-activity-id={activity.id}>
      <Activity
        activity={activity}
        feedGroup={feedGroup}
        userId={userId}
        Footer={() => (
          <div className="post-footer">
            <ActivityFooter activity={activity} feedGroup={feedGroup} userId={userId} targetFeeds={targetFeeds} />
            <CommentField activity={activity} targetFeeds={targetFeeds} />
            <CommentList activityId={activity.id} />
          </div>
        )}
      />
    </div>
  );
}

/** Everyone else, with a follow button each: my timeline follows their user feed. */
function People({ me, users, onChange }) {
  const { client } = useStreamContext();
  const [following, setFollowing] = useState(null);

  useEffect(() => {
    if (!client) return;
    client
      .feed('timeline', me.id)
      .following({ limit: 100 })
      .then((r) => setFollowing(new Set(r.results.map((f) => f.target_id))));
  }, [client, me.id]);

  const toggle = async (id) => {
    const timeline = client.feed('timeline', me.id);
    const target = `user:${id}`;
    if (following.has(target)) await timeline.unfollow('user', id);
    else await timeline.follow('user', id);
    const next = new Set(following);
    if (following.has(target)) next.delete(target);
    else next.add(target);
    setFollowing(next);
    onChange();
  };

  return (
    <div className="people">
      <h2>People</h2>
      <ul>
        {users
          .filter((u) => u.id !== me.id)
          .map((u) => (
            <li key={u.id} data-testid={`person-${u.id}`}>
              <Avatar image={u.profileImage} size={36} circle />
              <div className="who">
                <strong>{u.name}</strong>
                <span>{u.bio}</span>
              </div>
              {following && <FollowButton followed={following.has(`user:${u.id}`)} onClick={() => toggle(u.id)} />}
            </li>
          ))}
      </ul>
    </div>
  );
}

render(<App />, document.getElementById('root'));
