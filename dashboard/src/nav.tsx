// Links and navigation between the dashboard's views (hash routes).
import type { ComponentChildren } from 'preact';

/** Goes to `view` with `params` (a new history entry, so Back works). */
export function navigate(view: string, params: Record<string, string | undefined> = {}): void {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== '') p.set(k, v);
  const s = p.toString();
  window.location.hash = `#/${view}${s ? `?${s}` : ''}`;
}

/** A link to another view, e.g. a feed in the explorer. */
export function Link(props: { view: string; params?: Record<string, string | undefined>; children: ComponentChildren; title?: string; testId?: string }) {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(props.params ?? {})) if (v !== undefined && v !== '') p.set(k, v);
  const s = p.toString();
  return (
    <a href={`#/${props.view}${s ? `?${s}` : ''}`} title={props.title} data-testid={props.testId}>
      {props.children}
    </a>
  );
}

