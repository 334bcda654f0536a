/**
 * The demo's small world: eight people, who follows whom, a few days of posts, likes and comments.
 * Everything is written through the official `getstream` client with the app's secret, as an
 * application's own backend would.
 */
import type { StreamClient } from 'getstream';

export interface DemoUser {
  readonly id: string;
  readonly name: string;
  readonly bio: string;
  /** Background colour of the generated avatar. */
  readonly color: string;
}

export const USERS: readonly DemoUser[] = [
  { id: 'alice', name: 'Alice Moreau', bio: 'Trail runner and weekend baker in Lyon.', color: '#e4572e' },
  { id: 'bob', name: 'Bob Okafor', bio: 'Backend engineer. Amateur astronomer.', color: '#29335c' },
  { id: 'carol', name: 'Carol Nguyen', bio: 'Illustrator: cats, coffee cups, rainy streets.', color: '#f3a712' },
  { id: 'dave', name: 'Dave Lindqvist', bio: 'Cycles to work in any weather. Fixes bikes for friends.', color: '#669bbc' },
  { id: 'erin', name: 'Erin Castillo', bio: 'Community gardener and seed swapper.', color: '#4c956c' },
  { id: 'frank', name: 'Frank Adeyemi', bio: 'Jazz pianist. Teaches on Tuesdays.', color: '#8338ec' },
  { id: 'grace', name: 'Grace Kim', bio: 'Data scientist. Board games on Fridays.', color: '#d62246' },
  { id: 'hugo', name: 'Hugo Fischer', bio: 'Photographer chasing the blue hour.', color: '#1b998b' },
];

/** Who follows whom: each person's timeline follows these people's user feeds (and their own). */
export const FOLLOWS: Readonly<Record<string, readonly string[]>> = {
  alice: ['carol', 'erin', 'grace', 'hugo'],
  bob: ['alice', 'grace', 'dave', 'frank'],
  carol: ['alice', 'hugo', 'frank'],
  dave: ['bob', 'alice', 'hugo'],
  erin: ['alice', 'carol', 'grace'],
  frank: ['carol', 'bob', 'hugo', 'grace'],
  grace: ['bob', 'erin', 'frank', 'alice'],
  hugo: ['carol', 'dave'],
};

interface SeedPost {
  readonly author: string;
  /** Hours before the seeding time. */
  readonly hoursAgo: number;
  readonly text: string;
  readonly likes?: readonly string[];
  readonly comments?: readonly (readonly [string, string])[];
}

const POSTS: readonly SeedPost[] = [
  { author: 'alice', hoursAgo: 70, text: 'First 30 km trail of the season done. Legs say no, heart says yes. #running', likes: ['erin', 'grace'] },
  { author: 'hugo', hoursAgo: 66, text: 'Blue hour over the harbour tonight. Twelve minutes of perfect light, then fog.', likes: ['carol', 'dave', 'frank'] },
  { author: 'bob', hoursAgo: 62, text: 'Saturn is low on the horizon this week: worth getting up at 5 for. Bring a thermos.', likes: ['dave', 'grace'], comments: [['grace', 'Setting an alarm right now.']] },
  { author: 'carol', hoursAgo: 58, text: 'New sketchbook, first page: a cat judging my coffee choices.', likes: ['alice', 'erin', 'frank', 'hugo'] },
  { author: 'erin', hoursAgo: 54, text: 'Seed swap at the community garden on Sunday, 10:00. Tomatoes, beans and far too much kale.', likes: ['alice', 'grace'], comments: [['alice', 'I will bring the sourdough starter I promised!']] },
  { author: 'frank', hoursAgo: 50, text: 'Trio gig on Thursday at the Blue Note cellar. We are trying two new arrangements. #jazz', likes: ['carol', 'bob', 'grace'] },
  { author: 'grace', hoursAgo: 47, text: 'Spent the day untangling a survival model. The censoring was the interesting part, as always.', likes: ['bob'] },
  { author: 'dave', hoursAgo: 44, text: 'Trued three wheels and replaced a chain for the neighbours. Payment: one lasagne.', likes: ['bob', 'hugo'], comments: [['bob', 'Best exchange rate in town.']] },
  { author: 'alice', hoursAgo: 40, text: 'Rye and honey loaf, 36 hour ferment. The crumb is finally right. #baking', likes: ['carol', 'erin', 'grace', 'bob'], comments: [['carol', 'That crumb! Can I draw it?'], ['erin', 'Trade you a bag of beans for a slice.']] },
  { author: 'hugo', hoursAgo: 37, text: 'Printed the harbour series on cotton paper. The fog shots look better in print than on screen.', likes: ['carol', 'frank'] },
  { author: 'bob', hoursAgo: 34, text: 'Moved our job queue to idempotent chunks. Crash in the middle of a fan-out? Replay, nothing doubles.', likes: ['grace', 'dave', 'frank'], comments: [['grace', 'The best kind of boring.']] },
  { author: 'carol', hoursAgo: 30, text: 'Rainy street study, gouache, 20 minutes. Still learning to leave the white alone.', likes: ['hugo', 'alice'] },
  { author: 'grace', hoursAgo: 27, text: 'Board game night: we finally finished the 6-hour campaign. Nobody won, the river did.', likes: ['frank', 'erin', 'bob'], comments: [['frank', 'I still think the bridge was a trap.']] },
  { author: 'erin', hoursAgo: 24, text: 'The bees found the phacelia. Whole bed humming this morning.', likes: ['alice', 'carol', 'grace'] },
  { author: 'frank', hoursAgo: 21, text: 'Tuesday student played Autumn Leaves with her own voicings today. Teaching is the best job.', likes: ['carol', 'grace'] },
  { author: 'dave', hoursAgo: 18, text: 'Headwind both ways today. Physics is not on my side.', likes: ['bob', 'alice', 'hugo'], comments: [['alice', 'Training for the hills!']] },
  { author: 'alice', hoursAgo: 15, text: 'Recovery run by the river, sunrise and herons. Worth the early start.', likes: ['grace', 'hugo'] },
  { author: 'hugo', hoursAgo: 12, text: 'Old lens, new habits: shooting a whole week at 35 mm only.', likes: ['dave', 'carol'] },
  { author: 'bob', hoursAgo: 9, text: 'Clear skies forecast for tonight. Jupiter and three of its moons through the small scope.', likes: ['dave', 'grace', 'frank', 'alice'], comments: [['dave', 'Room for one more on the roof?']] },
  { author: 'carol', hoursAgo: 7, text: 'Commission finished: a bakery sign with a very proud croissant.', likes: ['alice', 'erin', 'frank'], comments: [['alice', 'Which bakery? I need to see it.']] },
  { author: 'grace', hoursAgo: 5, text: 'Reminder that a median and a mean are different stories about the same data.', likes: ['bob', 'erin'] },
  { author: 'erin', hoursAgo: 3, text: 'First ripe tomatoes. Sharing with whoever comes by the garden gate today.', likes: ['alice', 'grace', 'carol'] },
  { author: 'frank', hoursAgo: 2, text: 'Soundcheck done. See some of you at nine.', likes: ['carol', 'grace'] },
  { author: 'dave', hoursAgo: 1, text: 'Found a 1980s steel frame at the flea market for 20 euros. New project!', likes: ['bob', 'hugo'] },
];

/** What seeding wrote, for tests and the demo's banner. */
export interface SeededWorld {
  readonly users: number;
  readonly follows: number;
  readonly posts: number;
  readonly reactions: number;
  /** The post ids by author and position in {@link POSTS}. */
  readonly postIds: readonly string[];
}

/** The avatar path of a user, served by the demo backend. */
export function avatarPath(id: string): string {
  return `/avatars/${id}.svg`;
}

/** Steps of {@link seedWorld}, for a progress bar. */
export function seedSteps(): number {
  let n = USERS.length + 1 + POSTS.length;
  for (const p of POSTS) n += (p.likes?.length ?? 0) + (p.comments?.length ?? 0);
  return n;
}

/**
 * Writes the world through `client` (a server-side client with the app's secret). `tick` is called
 * after each step. Post times are `now` minus each post's age, so the feeds look recent whenever the
 * demo is first started. Meant for a fresh app: the demo seeds once, when it creates its data.
 */
export async function seedWorld(client: StreamClient, now: Date, tick: (n?: number) => void = () => {}): Promise<SeededWorld> {
  for (const u of USERS) {
    await client.user(u.id).getOrCreate({ name: u.name, bio: u.bio, profileImage: avatarPath(u.id) });
    tick();
  }
  const follows: { source: string; target: string }[] = [];
  for (const u of USERS) {
    follows.push({ source: `timeline:${u.id}`, target: `user:${u.id}` });
    for (const f of FOLLOWS[u.id] ?? []) follows.push({ source: `timeline:${u.id}`, target: `user:${f}` });
  }
  await client.followMany!(follows);
  tick();
  const postIds: string[] = [];
  let reactions = 0;
  for (const [i, p] of POSTS.entries()) {
    const time = new Date(now.getTime() - p.hoursAgo * 3600_000).toISOString().replace('Z', '');
    const activity = await client.feed('user', p.author).addActivity({
      actor: client.user(p.author).ref(),
      verb: 'post',
      object: p.text,
      text: p.text,
      foreign_id: `post:${i}`,
      time,
      attachments: { og: null, images: [], files: [] },
    });
    postIds.push(activity.id);
    tick();
    const notify = (by: string) => (by === p.author ? [] : [`notification:${p.author}`]);
    for (const by of p.likes ?? []) {
      await client.reactions.add('like', activity.id, {}, { userId: by, targetFeeds: notify(by) });
      reactions++;
      tick();
    }
    for (const [by, text] of p.comments ?? []) {
      await client.reactions.add('comment', activity.id, { text }, { userId: by, targetFeeds: notify(by) });
      reactions++;
      tick();
    }
  }
  return { users: USERS.length, follows: follows.length, posts: POSTS.length, reactions, postIds };
}
