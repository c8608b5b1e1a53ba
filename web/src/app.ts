// The console's shell: sign-in, the navigation of the signed-in role, and
// one view at a time. The URL carries only the view's name (#/audit), never
// an id of a principal or any other value.
import { ApiError, call, session, type Schemas } from './api';
import { button, h, replace, type Child } from './dom';

export type Role = Schemas['Role'];
export interface Me {
  id: string;
  name: string;
  role: Role;
  tenant?: string;
}

// What a view is given; `go` switches views, `held` keeps a value for the
// next view in memory (never in the URL or storage).
export interface Ctx {
  me: Me;
  go: (view: string) => void;
  held: Map<string, unknown>;
}

export interface View {
  id: string; // the hash route: #/<id>
  title: string;
  render: (ctx: Ctx) => Promise<Child>;
}

// An API refusal as a sentence (codes are the contract's, messages carry no
// PII by the API's own rule).
export function problem(e: unknown): HTMLElement {
  if (e instanceof ApiError) {
    const text =
      e.status === 403 && e.code === 'permission_denied'
        ? 'Not allowed for this identity.'
        : e.status === 401
          ? 'The API key was not accepted.'
          : 'The request failed.';
    return h('p', { class: 'error', role: 'alert' }, `${text} (${e.status} ${e.code}: ${e.message})`);
  }
  return h('p', { class: 'error', role: 'alert' }, `Something went wrong: ${e instanceof Error ? e.message : String(e)}`);
}

// Runs `work` and shows its outcome in `where` (a live region).
export async function attempt(where: HTMLElement, work: () => Promise<Child>): Promise<void> {
  replace(where, h('p', { class: 'busy' }, 'Working…'));
  where.setAttribute('aria-busy', 'true');
  try {
    replace(where, await work());
  } catch (e) {
    replace(where, problem(e));
  } finally {
    where.removeAttribute('aria-busy');
  }
}

function signInForm(root: HTMLElement, start: (me: Me) => void, message?: Child): void {
  const input = h('input', {
    id: 'api-key',
    name: 'api-key',
    type: 'password',
    autocomplete: 'off',
    spellcheck: 'false',
    required: true,
  });
  const status = h('div', { 'aria-live': 'polite' }, message);
  const form = h(
    'form',
    { class: 'signin' },
    h('h1', {}, 'piivault console'),
    h('p', {}, 'Sign in with an API key. It stays in this tab only (sessionStorage) and is sent to this server alone.'),
    h('label', { for: 'api-key' }, 'API key'),
    input,
    h('button', { type: 'submit' }, 'Sign in'),
    status,
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    session.signIn(input.value.trim());
    input.value = '';
    void whoami(root, start, status);
  });
  replace(root, h('main', { id: 'main' }, form));
  input.focus();
}

async function whoami(root: HTMLElement, start: (me: Me) => void, status?: HTMLElement): Promise<void> {
  try {
    start(await call('get', '/v1/whoami'));
  } catch (e) {
    session.signOut();
    if (status) replace(status, problem(e));
    else signInForm(root, start);
  }
}

export function boot(root: HTMLElement, viewsFor: (me: Me) => View[]): void {
  const start = (me: Me) => shell(root, me, viewsFor(me), () => signInForm(root, start));
  if (session.key()) void whoami(root, start);
  else signInForm(root, start);
}

function shell(root: HTMLElement, me: Me, views: View[], signedOut: () => void): void {
  const main = h('main', { id: 'main', tabindex: -1 });
  const nav = h('nav', { 'aria-label': 'Views' });
  const ctx: Ctx = { me, go: (id) => (location.hash = `#/${id}`), held: new Map() };
  const header = h(
    'header',
    {},
    button('Skip to content', () => main.focus(), { class: 'skip' }),
    h('span', { class: 'brand' }, 'piivault'),
    h('span', { class: 'who' }, `${me.name} · ${me.role}${me.tenant ? ` · tenant ${me.tenant}` : ''}`),
    button('Sign out', () => {
      session.signOut();
      window.removeEventListener('hashchange', show);
      history.replaceState(null, '', location.pathname);
      signedOut();
    }),
  );
  replace(root, header, nav, main);

  let current = 0; // drops a slow view's result once another was chosen
  async function show(): Promise<void> {
    const id = location.hash.replace(/^#\//, '');
    const view = views.find((v) => v.id === id) ?? views[0]!;
    for (const a of nav.querySelectorAll('a'))
      a.getAttribute('href') === `#/${view.id}` ? a.setAttribute('aria-current', 'page') : a.removeAttribute('aria-current');
    document.title = `${view.title} · piivault console`;
    const mine = ++current;
    replace(main, h('h1', {}, view.title), h('p', { class: 'busy' }, 'Loading…'));
    main.setAttribute('aria-busy', 'true');
    let body: Child;
    try {
      body = await view.render(ctx);
    } catch (e) {
      body = problem(e);
    }
    if (mine !== current) return;
    replace(main, h('h1', {}, view.title), body);
    main.removeAttribute('aria-busy');
  }
  replace(nav, h('ul', {}, views.map((v) => h('li', {}, h('a', { href: `#/${v.id}` }, v.title)))));
  // The address names the view shown (no reload when its link is followed).
  if (!views.some((v) => location.hash === `#/${v.id}`)) history.replaceState(null, '', `#/${views[0]!.id}`);
  window.addEventListener('hashchange', show);
  void show();
}
