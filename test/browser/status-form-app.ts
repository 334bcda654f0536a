/**
 * A minimal page on react-activity-feed for the browser test: StatusUpdateForm posting to the
 * user's feed, and the FlatFeed of that feed below it. Connection settings come from the page
 * (`window.RIVULET`), so one bundle serves every test server.
 */
import { createElement as h, useState, type ReactElement } from 'react';
import { render } from 'react-dom';
import { FlatFeed, StatusUpdateForm, StreamApp } from 'react-activity-feed';

declare global {
  interface Window {
    RIVULET: { apiKey: string; appId: string; token: string; apiUrl: string };
  }
}

function App(): ReactElement {
  const cfg = window.RIVULET;
  // Remounting the feed after a post reads it again.
  const [posted, setPosted] = useState(0);
  return h(
    StreamApp,
    { apiKey: cfg.apiKey, appId: cfg.appId, token: cfg.token, options: { urlOverride: { api: cfg.apiUrl } } as never },
    h(StatusUpdateForm, { feedGroup: 'user', onSuccess: () => setPosted((n) => n + 1) }),
    h('div', { id: 'feed', 'data-posted': posted }, h(FlatFeed, { key: posted, feedGroup: 'user' })),
  );
}

render(h(App), document.getElementById('root'));
