// Sluice web UI: dead-letter triage in one page, plain JavaScript, no build step.
//
// The rule of this file: what the API returns (payloads, error texts, app names, types, ids)
// reaches the page only as text, through h()'s children (text nodes), textContent, or an
// attribute that is never executed (title, datetime, value, href built from "#/" and an
// encoded id). Nothing is ever parsed as HTML. The session token lives in an HttpOnly cookie
// that this script cannot read; it is never kept in storage either.

const root = document.getElementById('app');

const state = {
  session: null, // GET /v1/session
  apps: [], // GET /v1/apps, by name
  appNames: new Map(), // app id -> name
  types: [], // job types seen in GET /v1/stats, for suggestions
  lastList: '#/dlq', // the dead-letter listing (with its filter) to go back to
  flash: null, // {kind, nodes} shown once on the next screen
};

// ---------------------------------------------------------------------------------------
// DOM

const props = new Set(['value', 'checked', 'hidden', 'selected']);

// h builds an element. Children are nodes or strings; strings become text nodes, never
// markup. Keys of attrs are written by this file, never taken from data.
function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v == null || v === false) continue;
    if (k === 'class') el.className = Array.isArray(v) ? v.filter(Boolean).join(' ') : v;
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (props.has(k)) el[k] = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  add(el, children);
  return el;
}

function add(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c == null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

const plural = (n, one, many) => `${fmtInt(n)} ${n === 1 ? one : many}`;

// ---------------------------------------------------------------------------------------
// API

class ApiError extends Error {
  constructor(status, message, field) {
    super(message);
    this.status = status;
    this.field = field || '';
  }
}

// api calls the JSON API with the session cookie and returns the decoded answer, or throws
// an ApiError carrying the server's {"error", "field"}.
async function api(method, path, body) {
  const init = { method, credentials: 'same-origin', cache: 'no-store', headers: { Accept: 'application/json' } };
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(path, init);
  } catch (e) {
    throw new ApiError(0, `The server did not answer (${e.message}). Is sluice serve running?`);
  }
  const text = await res.text();
  let data = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = null;
    }
  }
  if (!res.ok) {
    const msg = data && typeof data.error === 'string' ? data.error : `${res.status} ${res.statusText}`;
    if (res.status === 401 && path !== '/v1/session') signedOut('Your session has ended. Sign in again.');
    throw new ApiError(res.status, msg, data && data.field);
  }
  return data;
}

const statusLabels = {
  0: 'Offline', 400: 'Invalid input', 401: 'Not signed in', 403: 'Not allowed', 404: 'Not found',
  409: 'Conflict', 413: 'Too large', 429: 'Slow down', 503: 'Database unavailable',
};

// errorBox shows an API error readably; it marks the form field the error names, if any.
function errorBox(err, form) {
  if (form) {
    for (const el of form.querySelectorAll('[aria-invalid]')) el.removeAttribute('aria-invalid');
    const bad = err.field && form.querySelector(`[name="${CSS.escape(err.field)}"]`);
    if (bad) bad.setAttribute('aria-invalid', 'true');
  }
  const label = statusLabels[err.status] || (err.status >= 500 ? 'Server error' : 'Error');
  return h('div', { class: 'alert error', role: 'alert' },
    h('strong', null, label), err.status ? h('span', { class: 'code' }, String(err.status)) : null,
    h('span', { class: 'msg' }, err.message || String(err)));
}

function notice(kind, ...children) {
  return h('div', { class: `alert ${kind}`, role: kind === 'error' ? 'alert' : 'status' }, ...children);
}

// ---------------------------------------------------------------------------------------
// Formatting

const numberFormat = new Intl.NumberFormat('en-US');
const fmtInt = (n) => numberFormat.format(n);

const toDate = (v) => (v instanceof Date ? v : new Date(v));

// fmtUTC writes "2025-11-27 00:12:03 UTC" (with milliseconds when ms is set).
function fmtUTC(v, ms = false) {
  const d = toDate(v);
  if (Number.isNaN(d.getTime())) return '—';
  const s = d.toISOString();
  return `${s.slice(0, 10)} ${s.slice(11, ms ? 23 : 19)} UTC`;
}

// humanDuration writes "45 s", "12 min", "3 h 12 min", "2 d 4 h".
function humanDuration(ms) {
  const s = Math.floor(Math.max(0, ms) / 1000);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min`;
  const hr = Math.floor(m / 60);
  if (hr < 24) return m % 60 ? `${hr} h ${m % 60} min` : `${hr} h`;
  const d = Math.floor(hr / 24);
  return hr % 24 ? `${d} d ${hr % 24} h` : `${d} d`;
}

function relative(v) {
  const diff = Date.now() - toDate(v).getTime();
  if (Math.abs(diff) < 2000) return 'just now';
  return diff > 0 ? `${humanDuration(diff)} ago` : `in ${humanDuration(-diff)}`;
}

// when shows a time as UTC with its age beside it; the age stays current (see tick).
function when(v, { ms = false, stacked = false } = {}) {
  const d = toDate(v);
  return h('time', { class: ['when', stacked && 'stacked'], datetime: d.toISOString(), title: `${fmtUTC(d, true)} — your time: ${d.toLocaleString()}` },
    h('span', { class: 'utc' }, fmtUTC(d, ms)),
    h('span', { class: 'rel', dataset: { ts: String(d.getTime()) } }, relative(d)));
}

function tick() {
  for (const el of document.querySelectorAll('.rel[data-ts]')) el.textContent = relative(Number(el.dataset.ts));
  for (const el of document.querySelectorAll('.age[data-ts]')) el.textContent = humanDuration(Date.now() - Number(el.dataset.ts));
}
setInterval(tick, 15000);

const shortID = (id) => String(id).slice(-12);
const appName = (id) => state.appNames.get(id) || id;

// ---------------------------------------------------------------------------------------
// Routing: #/ overview, #/dlq?filter, #/dlq/ID, #/groups?filter, #/jobs?filter, #/jobs/ID,
// #/alerts?filter, #/schedules, #/pauses, #/apps (admins)

const routes = [
  [/^\/$/, viewOverview],
  [/^\/dlq$/, viewDLQ],
  [/^\/groups$/, viewGroups],
  [/^\/dlq\/([^/]+)$/, viewEntry],
  [/^\/jobs$/, viewJobs],
  [/^\/jobs\/([^/]+)$/, viewJob],
  [/^\/alerts$/, viewAlerts],
  [/^\/apps$/, viewApps],
  [/^\/schedules$/, viewSchedules],
  [/^\/pauses$/, viewPauses],
];

function currentRoute() {
  const raw = location.hash.slice(1) || '/';
  const i = raw.indexOf('?');
  return { path: i < 0 ? raw : raw.slice(0, i), params: new URLSearchParams(i < 0 ? '' : raw.slice(i + 1)) };
}

const go = (hash) => { location.hash = hash; };

// view is the screen on show; a screen's async work checks ctx.alive() before touching the
// page, so a slow answer never lands on the next screen.
let view = { gen: 0, cleanups: [] };

function newView() {
  for (const fn of view.cleanups) fn();
  view = { gen: view.gen + 1, cleanups: [] };
  const gen = view.gen;
  return { alive: () => view.gen === gen, onCleanup: (fn) => view.cleanups.push(fn) };
}

async function render() {
  const ctx = newView();
  if (!state.session) {
    renderLogin();
    return;
  }
  const { path, params } = currentRoute();
  if (path === '/dlq') state.lastList = location.hash || '#/dlq';
  const main = h('main', { id: 'main', tabindex: '-1' });
  root.className = '';
  root.replaceChildren(topbar(path), main);
  if (state.flash) {
    main.append(notice(state.flash.kind, ...state.flash.nodes));
    state.flash = null;
  }
  for (const [re, fn] of routes) {
    const m = path.match(re);
    if (m) {
      await fn(main, params, ctx, ...m.slice(1).map(decodeURIComponent));
      return;
    }
  }
  main.append(pageHead('Not found'), h('p', null, 'No screen lives at this address. ', h('a', { href: '#/' }, 'Go to the overview.')));
}

function flash(kind, ...nodes) {
  state.flash = { kind, nodes };
}

const canWrite = () => state.session && !state.session.readOnly;

// ---------------------------------------------------------------------------------------
// Session

async function loadSession() {
  const session = await api('GET', '/v1/session');
  await reloadApps();
  state.session = session;
}

// reloadApps reads the apps afresh, so that a renamed or deleted app shows as it is now.
async function reloadApps() {
  const apps = await api('GET', '/v1/apps');
  state.apps = [...(apps.items || [])].sort((a, b) => a.name.localeCompare(b.name));
  state.appNames = new Map(state.apps.map((a) => [a.id, a.name]));
}

function signedOut(message) {
  if (!state.session) return;
  state.session = null;
  newView();
  for (const d of document.querySelectorAll('dialog')) d.remove();
  renderLogin(message);
}

function renderLogin(message) {
  const input = h('input', {
    id: 'token', name: 'token', type: 'password', autocomplete: 'off', spellcheck: 'false',
    placeholder: 'sluice_…', required: true, 'aria-describedby': 'token-hint',
  });
  const errors = h('div', { class: 'form-errors' });
  const button = h('button', { type: 'submit', class: 'primary wide' }, 'Sign in');
  const form = h('form', {
    class: 'card login-card', id: 'login',
    onsubmit: async (e) => {
      e.preventDefault();
      errors.replaceChildren();
      button.disabled = true;
      button.textContent = 'Signing in…';
      try {
        await api('POST', '/v1/session', { token: input.value.trim() });
        input.value = '';
        await loadSession();
        render();
      } catch (err) {
        errors.replaceChildren(errorBox(err.status === 401 ? new ApiError(401, 'That token is not valid, or it was revoked or has expired.') : err));
        button.disabled = false;
        button.textContent = 'Sign in';
        input.select();
      }
    },
  },
  h('div', { class: 'brand big' }, h('span', { class: 'mark', 'aria-hidden': 'true' }), 'Sluice'),
  h('p', { class: 'muted' }, 'Dead-letter triage. Sign in with an API token.'),
  message ? notice('info', message) : null,
  h('label', { for: 'token' }, 'API token'),
  input,
  errors,
  button,
  h('p', { class: 'hint', id: 'token-hint' }, 'Make one with ', h('code', null, 'sluice tokens create --admin'),
    ' (or ', h('code', null, '--app APP --read-only'), '). It becomes an HttpOnly cookie; this page never stores it.'));
  root.className = 'login-root';
  root.replaceChildren(h('main', { class: 'login' }, form));
  input.focus();
}

async function signOut() {
  try {
    await api('DELETE', '/v1/session');
  } catch {
    // Signed out either way: the cookie is gone or was already invalid.
  }
  state.session = null;
  newView();
  history.replaceState(null, '', '#/');
  renderLogin('Signed out.');
}

// ---------------------------------------------------------------------------------------
// Frame: top bar, page heads, dialogs

function topbar(path) {
  const s = state.session;
  const nav = [['#/', 'Overview', /^\/$/], [state.lastList, 'Dead letters', /^\/dlq/], ['#/groups', 'Failure groups', /^\/groups/], ['#/jobs', 'Jobs', /^\/jobs/],
    ['#/schedules', 'Schedules', /^\/schedules/], ['#/pauses', 'Pauses', /^\/pauses/], ['#/alerts', 'Alerts', /^\/alerts/]];
  if (s.admin) nav.push(['#/apps', 'Apps', /^\/apps/]);
  const who = s.admin ? 'admin' : `app ${s.appName || appName(s.appId)}`;
  return h('header', { class: 'topbar' },
    h('a', { class: 'brand', href: '#/' }, h('span', { class: 'mark', 'aria-hidden': 'true' }), 'Sluice'),
    h('nav', { 'aria-label': 'Main' }, nav.map(([href, label, re]) =>
      h('a', { href, 'aria-current': re.test(path) ? 'page' : null }, label))),
    h('div', { class: 'spacer' }),
    h('span', { class: 'who', id: 'who', title: s.name ? `Token “${s.name}”` : 'Token without a name' },
      h('span', { class: 'badge' }, who), s.readOnly ? h('span', { class: 'badge ro', id: 'read-only' }, 'read-only') : null),
    h('button', { type: 'button', class: 'ghost', title: 'Keyboard shortcuts (?)', onclick: showHelp }, '?'),
    h('button', { type: 'button', class: 'ghost', id: 'sign-out', onclick: signOut }, 'Sign out'));
}

function pageHead(title, subtitle, ...extra) {
  return h('div', { class: 'page-head' },
    h('div', null, h('h1', null, title), subtitle ? h('p', { class: 'muted sub' }, subtitle) : null),
    h('div', { class: 'head-extra' }, ...extra));
}

// dialog asks for confirmation in a modal. onConfirm runs while the dialog shows it is busy;
// its error stays in the dialog, readable, and its result resolves the promise. Dismissing
// it (its dismissLabel button, "Cancel" unless said otherwise) or Escape resolves null.
function dialog({ title, body = [], confirmLabel, dismissLabel = 'Cancel', danger = false, onConfirm }) {
  return new Promise((resolve) => {
    let busy = false;
    const errors = h('div', { class: 'form-errors' });
    const cancel = h('button', { type: 'button', id: 'dialog-dismiss', onclick: () => finish(null) }, dismissLabel);
    const confirm = h('button', { type: 'submit', class: danger ? 'danger' : 'primary', id: 'dialog-confirm' }, confirmLabel);
    const form = h('form', {
      onsubmit: async (e) => {
        e.preventDefault();
        if (!onConfirm) return finish(true);
        busy = true;
        confirm.disabled = cancel.disabled = true;
        confirm.textContent = 'Working…';
        errors.replaceChildren();
        try {
          finish((await onConfirm()) ?? true);
        } catch (err) {
          errors.replaceChildren(errorBox(err));
          busy = false;
          confirm.disabled = cancel.disabled = false;
          confirm.textContent = confirmLabel;
        }
      },
    }, h('h2', { id: 'dialog-title' }, title), ...body, errors, h('div', { class: 'dialog-actions' }, cancel, confirm));
    const dlg = h('dialog', { class: ['dialog', danger && 'danger'], 'aria-labelledby': 'dialog-title' }, form);
    dlg.addEventListener('cancel', (e) => {
      e.preventDefault();
      if (!busy) finish(null);
    });
    function finish(v) {
      dlg.close();
      dlg.remove();
      resolve(v);
    }
    document.body.append(dlg);
    dlg.showModal();
    (danger ? cancel : confirm).focus();
  });
}

const shortcuts = [
  ['g o', 'Overview'], ['g d', 'Dead letters'], ['g j', 'Jobs'], ['/', 'Focus the filter'],
  ['j / k', 'Next / previous row'], ['Enter', 'Open the row'], ['x', 'Select the row'],
  ['Esc', 'Back to the list; leave a field; close a dialog'], ['?', 'This help'],
];

function showHelp() {
  if (document.querySelector('dialog[open]')) return;
  dialog({
    title: 'Keyboard shortcuts',
    confirmLabel: 'Close',
    body: [h('dl', { class: 'keys' }, shortcuts.map(([k, what]) => [h('dt', null, k.split(' ').map((x) => (x === '/' && k !== '/' ? ' / ' : h('kbd', null, x)))), h('dd', null, what)]))],
  });
}

// ---------------------------------------------------------------------------------------
// Overview

async function loadTypes() {
  const stats = await api('GET', '/v1/stats');
  state.types = [...new Set((stats.items || []).map((s) => s.type))].sort();
  return stats.items || [];
}

async function viewOverview(main, _params, ctx) {
  const updated = h('span', { class: 'muted small', 'aria-live': 'polite' });
  const refresh = h('button', { type: 'button', class: 'ghost', onclick: () => load() }, 'Refresh');
  const body = h('div', { class: 'loading' }, 'Loading…');
  const trims = h('div', { class: 'trim-reports', id: 'trim-reports' });
  main.append(pageHead('Overview', 'Jobs per app and type. Dead counts open the dead letters of that app and type.', updated, refresh), trims, body);
  async function load() {
    try {
      const [items] = await Promise.all([loadTypes(), reloadApps()]);
      if (!ctx.alive()) return;
      body.className = '';
      body.replaceChildren(...overview(items));
      if (state.session && state.session.admin) {
        const reports = await api('GET', '/v1/retention/reports?limit=20');
        if (ctx.alive()) trims.replaceChildren(...(reports.items || []).map((r) => trimBanner(r, load)));
      }
      updated.textContent = `Updated ${fmtUTC(new Date())}`;
    } catch (err) {
      if (ctx.alive()) body.replaceChildren(errorBox(err));
    }
  }
  await load();
  const timer = setInterval(load, 15000);
  ctx.onCleanup(() => clearInterval(timer));
}

// trimBanner warns that retention deleted un-replayed dead letters (a trim report), with a
// button that dismisses the report for an admin who may write.
function trimBanner(r, reload) {
  const app = appName(r.appId);
  const parts = [
    h('strong', null, 'Retention deleted dead letters.'), ' ',
    h('span', { class: 'msg' }, `${plural(r.count, 'un-replayed dead-letter entry', 'un-replayed dead-letter entries')} of ${app} / ${r.type} ${r.count === 1 ? 'was' : 'were'} deleted by retention on ${fmtUTC(r.createdAt)} (they failed between ${fmtUTC(r.oldestFailedAt)} and ${fmtUTC(r.newestFailedAt)}; policy: ${r.policy}).`),
  ];
  if (r.exportFile) parts.push(' ', h('span', { class: 'muted small' }, 'Exported to ', h('code', null, r.exportFile), ' first.'));
  if (canWrite()) {
    parts.push(' ', h('button', { type: 'button', class: 'ghost dismiss-trim', dataset: { id: r.id }, onclick: async (ev) => {
      ev.target.disabled = true;
      try {
        await api('POST', `/v1/retention/reports/${encodeURIComponent(r.id)}/dismiss`);
        await reload();
      } catch (err) {
        ev.target.disabled = false;
        ev.target.parentNode.append(errorBox(err));
      }
    } }, 'Dismiss'));
  }
  return h('div', { class: 'alert warn trim-report', role: 'status', dataset: { id: r.id } }, ...parts);
}

// appLimits shows an app's limits (sluice apps limit), or nothing when it has none.
function appLimits(app) {
  const parts = [];
  if (app && app.maxRunning) parts.push(`at most ${fmtInt(app.maxRunning)} running`);
  if (app && app.rate) parts.push(`${app.rate} starts/s, burst ${fmtInt(app.burst)}`);
  return parts.length ? h('span', { class: 'app-limits muted small', title: 'Limits set with sluice apps limit' }, parts.join(' · ')) : null;
}

function overview(items) {
  if (!items.length) {
    return [h('div', { class: 'empty card' }, h('p', null, 'No jobs yet.'),
      h('p', { class: 'muted' }, 'Enqueue one with ', h('code', null, 'sluice jobs enqueue --app APP --type TYPE --payload {}'), ', or try ', h('code', null, 'sluice demo'), '.'))];
  }
  const total = { pending: 0, running: 0, retrying: 0, dead: 0 };
  const byApp = new Map();
  for (const s of items) {
    for (const k of Object.keys(total)) total[k] += s[k] || 0;
    const name = s.appName || appName(s.appId);
    if (!byApp.has(name)) byApp.set(name, []);
    byApp.get(name).push(s);
  }
  const tiles = h('div', { class: 'tiles' }, [['dead', 'Dead'], ['retrying', 'Retrying'], ['running', 'Running'], ['pending', 'Pending']].map(([k, label]) =>
    h('div', { class: ['tile', k, total[k] > 0 && 'nonzero'], id: `total-${k}` }, h('span', { class: 'tile-n' }, fmtInt(total[k])), h('span', { class: 'tile-label' }, label))));
  const num = (n, cls) => h('td', { class: ['num', cls, !n && 'zero'] }, fmtInt(n || 0));
  const rows = [];
  for (const name of [...byApp.keys()].sort((a, b) => a.localeCompare(b))) {
    const list = byApp.get(name).sort((a, b) => a.type.localeCompare(b.type));
    const dead = list.reduce((n, s) => n + (s.dead || 0), 0);
    rows.push(h('tr', { class: 'group' }, h('th', { colspan: '6', scope: 'rowgroup' },
      h('span', { class: 'app-name' }, name),
      disabledBadge(state.apps.find((a) => a.name === name)),
      appLimits(state.apps.find((a) => a.name === name)),
      dead ? h('a', { class: 'group-dead', href: `#/dlq?${new URLSearchParams({ app: name })}` }, `${plural(dead, 'dead entry', 'dead entries')} →`) : h('span', { class: 'muted small' }, 'nothing dead'))));
    for (const s of list) {
      const deadCell = s.dead
        ? h('td', { class: 'num dead' }, h('a', { class: 'dead-link', href: `#/dlq?${new URLSearchParams({ app: name, type: s.type })}`, title: `Open the dead letters of ${name} / ${s.type}`, dataset: { app: name, type: s.type } }, fmtInt(s.dead)))
        : num(0, 'dead');
      const oldest = s.oldestDeadAt
        ? h('td', { class: 'age-cell', title: fmtUTC(s.oldestDeadAt) }, h('span', { class: 'age', dataset: { ts: String(toDate(s.oldestDeadAt).getTime()) } }, humanDuration(Date.now() - toDate(s.oldestDeadAt).getTime())))
        : h('td', { class: 'age-cell zero' }, '—');
      rows.push(h('tr', { class: 'stat', dataset: { app: name, type: s.type } },
        h('td', { class: 'type' }, h('a', { href: `#/jobs?${new URLSearchParams({ app: name, type: s.type })}`, title: 'Jobs of this type' }, s.type)),
        num(s.pending, 'pending'), num(s.running, 'running'), num(s.retrying, 'retrying'), deadCell, oldest));
    }
  }
  return [tiles, h('div', { class: 'card flush' }, h('table', { class: 'grid stats', id: 'stats' },
    h('thead', null, h('tr', null, h('th', { scope: 'col' }, 'App / type'), ['Pending', 'Running', 'Retrying', 'Dead'].map((c) => h('th', { scope: 'col', class: 'num' }, c)), h('th', { scope: 'col' }, 'Oldest dead'))),
    h('tbody', null, rows)))];
}

// ---------------------------------------------------------------------------------------
// Apps (admin tokens): disable, enable, rename, delete, purge

// holdingsList says what an app holds, one item per kind it holds any of.
function holdingsList(hd) {
  const kinds = [
    ['pendingJobs', 'pending job', 'pending jobs'], ['runningJobs', 'running job', 'running jobs'],
    ['finishedJobs', 'completed or cancelled job', 'completed or cancelled jobs'],
    ['deadJobs', 'un-replayed dead-letter entry', 'un-replayed dead-letter entries'],
    ['replayedDeadJobs', 'replayed dead-letter entry', 'replayed dead-letter entries'],
    ['tokens', 'token that is not revoked', 'tokens that are not revoked'],
    ['retentionPolicies', 'retention policy', 'retention policies'],
  ].filter(([k]) => hd[k] > 0);
  return h('ul', { class: 'holdings', id: 'holdings' }, kinds.map(([k, one, many]) => h('li', { dataset: { kind: k } }, plural(hd[k], one, many))));
}

async function viewApps(main, _params, ctx) {
  if (!state.session.admin) {
    main.append(pageHead('Apps'), notice('info', 'Apps are managed with an admin token.'));
    return;
  }
  const body = h('div', { class: 'loading' }, 'Loading…');
  main.append(pageHead('Apps', 'Every app (tenant). A rename keeps its id, so its jobs, dead letters and tokens stay its own; an app is deleted only when it holds nothing, or with a purge of everything it holds. A disabled app’s jobs wait: none is claimed or enqueued until it is enabled again.'), body);
  try {
    await reloadApps();
    if (!ctx.alive()) return;
    body.className = '';
    body.replaceChildren(appsTable());
  } catch (err) {
    if (ctx.alive()) body.replaceChildren(errorBox(err));
  }
}

function appsTable() {
  if (!state.apps.length) {
    return h('div', { class: 'empty card' }, h('p', null, 'No apps yet.'), h('p', { class: 'muted' }, 'Create one with ', h('code', null, 'sluice apps create NAME'), '.'));
  }
  const rows = state.apps.map((a) => h('tr', { dataset: { app: a.id, name: a.name }, class: a.disabledAt ? 'disabled' : null },
    h('td', { class: 'app-name' }, a.name, disabledBadge(a)),
    h('td', null, h('code', { class: 'id muted' }, a.id)),
    h('td', null, when(a.createdAt)),
    h('td', null, appLimits(a) || h('span', { class: 'muted small' }, 'no limits')),
    h('td', { class: 'actions' }, canWrite() ? [
      a.disabledAt
        ? h('button', { type: 'button', class: 'enable-app', onclick: (ev) => enableApp(a, ev.target) }, 'Enable')
        : h('button', { type: 'button', class: 'danger-outline disable-app', onclick: () => disableApp(a) }, 'Disable…'), ' ',
      h('button', { type: 'button', class: 'ghost rename-app', onclick: () => renameApp(a) }, 'Rename…'), ' ',
      h('button', { type: 'button', class: 'danger-outline delete-app', onclick: () => deleteApp(a) }, 'Delete…'),
    ] : null)));
  return h('div', { class: 'card flush' }, h('table', { class: 'grid', id: 'apps-table' },
    h('thead', null, h('tr', null, ['Name', 'Id', 'Created', 'Limits', ''].map((c) => h('th', { scope: 'col' }, c)))),
    h('tbody', null, rows)));
}

// disabledBadge marks a disabled app, or is nothing.
function disabledBadge(app) {
  if (!app || !app.disabledAt) return null;
  return [' ', h('span', { class: 'badge dead app-disabled', title: `Disabled ${fmtUTC(app.disabledAt)}: its jobs are not claimed and enqueueing them is refused` }, 'disabled')];
}

async function disableApp(a) {
  const done = await dialog({
    title: `Disable ${a.name}?`,
    body: [h('p', null, 'No worker claims its jobs any more (attempts running now finish), enqueueing its jobs is refused, and its periodic schedules’ ticks are skipped. Its jobs and dead letters stay as they are, readable.'),
      h('p', { class: 'muted small' }, 'Enable it again to have its due jobs claimed at once.')],
    confirmLabel: 'Disable app',
    danger: true,
    onConfirm: () => api('POST', `/v1/apps/${encodeURIComponent(a.id)}/disable`),
  });
  if (!done) return;
  await afterAppChange(h('strong', null, 'Disabled'), ` ${a.name}: its jobs are not claimed and none can be enqueued until it is enabled.`);
}

async function enableApp(a, button) {
  button.disabled = true;
  try {
    await api('POST', `/v1/apps/${encodeURIComponent(a.id)}/enable`);
  } catch (err) {
    button.disabled = false;
    document.querySelector('main')?.append(errorBox(err));
    return;
  }
  await afterAppChange(h('strong', null, 'Enabled'), ` ${a.name}: its due jobs are claimed again.`);
}

// afterAppChange forgets listings filtered by an app's old name and shows the apps again,
// read afresh, under a message.
async function afterAppChange(...message) {
  state.lastList = '#/dlq';
  flash('ok', ...message);
  await render();
}

async function renameApp(a) {
  const input = h('input', { id: 'rename-name', name: 'name', value: a.name, required: true, autocomplete: 'off', spellcheck: 'false', maxlength: '128' });
  const renamed = await dialog({
    title: `Rename ${a.name}`,
    body: [field('New name', input, '1–128 characters, not shaped like a UUID'),
      h('p', { class: 'muted small' }, 'Its id does not change: jobs, dead letters, tokens and retention policies stay its own. The old name stops naming it.')],
    confirmLabel: 'Rename',
    onConfirm: () => api('PATCH', `/v1/apps/${encodeURIComponent(a.id)}`, { name: input.value }),
  });
  if (!renamed) return;
  await afterAppChange(h('strong', null, 'Renamed'), ` ${a.name} to ${renamed.name}.`);
}

async function deleteApp(a) {
  let hd;
  try {
    hd = await api('GET', `/v1/apps/${encodeURIComponent(a.id)}/holdings`);
  } catch (err) {
    document.querySelector('main')?.append(errorBox(err));
    return;
  }
  // Schedules and pauses are settings: they go with the app, and never call for a purge.
  const { schedules = 0, pauses = 0, ...held } = hd;
  const empty = Object.values(held).every((n) => !n);
  const settings = schedules + pauses ? h('p', null, `Its ${[schedules ? plural(schedules, 'periodic schedule', 'periodic schedules') : '', pauses ? plural(pauses, 'pause', 'pauses') : ''].filter(Boolean).join(' and ')} go with it.`) : null;
  const path = `/v1/apps/${encodeURIComponent(a.id)}`;
  let done;
  if (empty) {
    done = await dialog({
      title: `Delete ${a.name}?`,
      body: [h('p', null, 'It holds nothing: no jobs, dead letters, tokens or retention policies. Its name becomes free.'), settings],
      confirmLabel: 'Delete app',
      danger: true,
      onConfirm: () => api('DELETE', path),
    });
  } else {
    const confirmName = h('input', { id: 'purge-confirm', name: 'confirm', autocomplete: 'off', spellcheck: 'false' });
    done = await dialog({
      title: `Purge and delete ${a.name}?`,
      body: [h('p', null, 'It still holds:'), holdingsList(held), settings,
        h('p', null, 'A purge deletes all of it for good, in batches, then the app. Running jobs are deleted under their workers, whose results are then ignored. Stop its producers first.'),
        field('Type the app’s name to confirm', confirmName)],
      confirmLabel: 'Purge and delete',
      danger: true,
      onConfirm: () => {
        if (confirmName.value !== a.name) {
          throw new ApiError(400, `Type ${a.name} exactly to confirm the purge.`, 'confirm');
        }
        return api('DELETE', `${path}?purge=true`);
      },
    });
  }
  if (!done) return;
  const d = done.deleted || {};
  const what = empty ? '' : ` with ${plural(d.jobs || 0, 'job', 'jobs')}, ${plural(d.deadJobs || 0, 'dead-letter entry', 'dead-letter entries')}, ${plural(d.tokens || 0, 'token', 'tokens')} and ${plural(d.retentionPolicies || 0, 'retention policy', 'retention policies')}`;
  await afterAppChange(h('strong', null, 'Deleted'), ` app ${a.name}${what}.`);
}

// ---------------------------------------------------------------------------------------
// Filters shared by the listings

const dlqFields = ['app', 'type', 'failedAfter', 'failedBefore', 'errorContains', 'group', 'tag'];

function readFilter(params, fields) {
  const f = {};
  for (const k of fields) {
    const v = params.get(k);
    if (v) f[k] = v;
  }
  return f;
}

const isEmpty = (f) => dlqFields.every((k) => !f[k]);

// Datetime inputs are in UTC, like every time the UI shows.
function toLocalInput(iso) {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '';
  return d.toISOString().slice(0, 19);
}

function fromLocalInput(v) {
  if (!v) return '';
  const d = new Date(v.length === 16 ? `${v}:00Z` : `${v}Z`);
  return Number.isNaN(d.getTime()) ? '' : d.toISOString();
}

function field(label, control, hint) {
  return h('label', { class: 'field' }, h('span', { class: 'label' }, label, hint ? h('span', { class: 'muted' }, ` ${hint}`) : null), control);
}

function appSelect(value) {
  return h('select', { name: 'app', id: 'f-app', 'data-filter-first': true },
    h('option', { value: '' }, 'All apps'),
    state.apps.map((a) => h('option', { value: a.name, selected: a.name === value || a.id === value }, a.name)));
}

function typeInput(value) {
  const list = h('datalist', { id: 'types' }, state.types.map((t) => h('option', { value: t })));
  return [h('input', { name: 'type', id: 'f-type', list: 'types', value: value || '', placeholder: 'any type', autocomplete: 'off', spellcheck: 'false' }), list];
}

function filterForm({ id, fields, onApply, onClear }) {
  const form = h('form', { class: 'filters card', id, role: 'search', onsubmit: (e) => { e.preventDefault(); onApply(new FormData(form)); } },
    fields,
    h('div', { class: 'filter-actions' },
      h('button', { type: 'submit', class: 'primary' }, 'Apply'),
      h('button', { type: 'button', class: 'ghost', onclick: onClear }, 'Clear')));
  return form;
}

// describeFilter writes a filter as a phrase: "of acme / invoice.charge failed after …".
function describeFilter(f) {
  const parts = [];
  const subject = [f.app, f.type].filter(Boolean).join(' / ');
  if (subject) parts.push(`of ${subject}`);
  if (f.failedAfter && f.failedBefore) parts.push(`failed between ${fmtUTC(f.failedAfter)} and ${fmtUTC(f.failedBefore)}`);
  else if (f.failedAfter) parts.push(`failed after ${fmtUTC(f.failedAfter)}`);
  else if (f.failedBefore) parts.push(`failed before ${fmtUTC(f.failedBefore)}`);
  if (f.errorContains) parts.push(`whose errors contain “${f.errorContains}”`);
  if (f.group) parts.push(`in failure group ${f.group}`);
  if (f.tag) parts.push(`tagged “${f.tag}”`);
  return parts.join(' ');
}

function tagInput(value) {
  return field('Tag', h('input', { name: 'tag', id: 'f-tag', value: value || '', placeholder: 'any tag', spellcheck: 'false', autocomplete: 'off', size: '14' }));
}

// tagList shows a job's tags, each a link to the listing (base: '#/dlq' or '#/jobs') of
// what has that tag.
function tagList(tags, base) {
  if (!tags || !tags.length) return null;
  return h('span', { class: 'tags' }, tags.map((t) => h('a', { class: 'badge tag', href: listHash(base, { tag: t }, ['tag']), title: `Everything tagged ${t}` }, t)));
}

// traceCell shows a trace id, as a link to the trace when the server has a trace URL
// (sluice serve --trace-url): only ever an http(s) link, opened without a referrer.
function traceCell(x) {
  const id = x.trace && x.trace.traceId;
  if (!id) return null;
  const code = h('code', { class: 'id', id: 'trace-id' }, id);
  if (x.traceUrl && /^https?:\/\//i.test(x.traceUrl)) {
    return h('a', { href: x.traceUrl, id: 'trace-link', target: '_blank', rel: 'noopener noreferrer', title: 'Open the trace that enqueued it' }, code, ' ↗');
  }
  return code;
}

// listHash returns "#/dlq?…" for a filter, in a stable order so links can be shared.
function listHash(base, f, fields) {
  const q = new URLSearchParams();
  for (const k of fields) if (f[k]) q.set(k, f[k]);
  const s = q.toString();
  return s ? `${base}?${s}` : base;
}

// ---------------------------------------------------------------------------------------
// Dead-letter listing

async function viewDLQ(main, params, ctx) {
  const f = readFilter(params, dlqFields);
  const all = params.get('all') === 'true';
  if (!state.types.length) await loadTypes().catch(() => {});
  if (!ctx.alive()) return;

  const form = filterForm({
    id: 'dlq-filter',
    fields: [
      field('App', appSelect(f.app)),
      field('Type', typeInput(f.type)),
      field('Failed after', h('input', { type: 'datetime-local', step: '1', name: 'failedAfter', id: 'f-after', value: toLocalInput(f.failedAfter || '') }), 'UTC'),
      field('Failed before', h('input', { type: 'datetime-local', step: '1', name: 'failedBefore', id: 'f-before', value: toLocalInput(f.failedBefore || '') }), 'UTC'),
      h('label', { class: 'field grow' }, h('span', { class: 'label' }, 'Error contains ', h('span', { class: 'muted' }, 'case-sensitive')),
        h('input', { name: 'errorContains', id: 'f-error', value: f.errorContains || '', placeholder: 'text in any attempt’s error', spellcheck: 'false' })),
      field('Group', h('input', { name: 'group', id: 'f-group', value: f.group || '', placeholder: 'any group', spellcheck: 'false', autocomplete: 'off', size: '18' })),
      tagInput(f.tag),
      h('label', { class: 'check' }, h('input', { type: 'checkbox', name: 'all', value: 'true', checked: all }), 'Include replayed'),
    ],
    onApply: (data) => {
      const nf = {};
      for (const k of ['app', 'type', 'errorContains', 'group', 'tag']) nf[k] = String(data.get(k) || '').trim();
      nf.failedAfter = fromLocalInput(String(data.get('failedAfter') || ''));
      nf.failedBefore = fromLocalInput(String(data.get('failedBefore') || ''));
      if (data.get('all')) nf.all = 'true';
      go(listHash('#/dlq', nf, [...dlqFields, 'all']));
    },
    onClear: () => go('#/dlq'),
  });

  const phrase = describeFilter(f);
  main.append(pageHead('Dead letters', `${all ? 'All entries' : 'Entries not yet replayed'}${phrase ? ` ${phrase}` : ''}, newest failure first.`), form);

  const messages = h('div', { class: 'messages', id: 'dlq-messages' });
  const items = new Map(); // id -> entry, for the rows on show
  const selected = new Set();
  let cursor = '';

  const selCount = h('span', { class: 'sel-count', id: 'sel-count' });
  const replaySel = h('button', { type: 'button', id: 'replay-selected', onclick: () => eachSelected('replay') }, 'Replay selected');
  const deleteSel = h('button', { type: 'button', class: 'danger-outline', id: 'delete-selected', onclick: () => eachSelected('delete') }, 'Delete selected');
  const bulkReplay = h('button', { type: 'button', id: 'replay-matching', onclick: () => bulk('replay') }, 'Replay all matching…');
  const bulkPurge = h('button', { type: 'button', class: 'danger-outline', id: 'purge-matching', onclick: () => bulk('purge') }, 'Purge all matching…');
  if (isEmpty(f)) {
    for (const b of [bulkReplay, bulkPurge]) {
      b.disabled = true;
      b.title = 'Set a filter first: bulk actions work on everything that matches it.';
    }
  }
  const toolbar = canWrite()
    ? h('div', { class: 'toolbar', id: 'dlq-toolbar' },
      h('div', { class: 'group' }, selCount, replaySel, deleteSel),
      h('div', { class: 'group' }, isEmpty(f) ? h('span', { class: 'muted small' }, 'Filter to act on all matching entries') : null, bulkReplay, bulkPurge))
    : null;

  const selectAll = h('input', { type: 'checkbox', id: 'select-all', 'aria-label': 'Select every entry shown', onchange: () => {
    for (const id of items.keys()) (selectAll.checked ? selected.add(id) : selected.delete(id));
    for (const cb of tbody.querySelectorAll('input.row-sel')) cb.checked = selectAll.checked;
    updateSelection();
  } });
  const tbody = h('tbody');
  const table = h('table', { class: 'grid rows dlq', id: 'dlq-table' },
    h('thead', null, h('tr', null,
      canWrite() ? h('th', { class: 'sel' }, selectAll) : null,
      h('th', { scope: 'col' }, 'Failed at'), h('th', { scope: 'col' }, 'App'), h('th', { scope: 'col' }, 'Type'),
      h('th', { scope: 'col', class: 'num' }, 'Attempts'), h('th', { scope: 'col' }, 'Last error'))),
    tbody);
  const more = h('button', { type: 'button', id: 'load-more', hidden: true, onclick: () => load() }, 'Load more');
  const status = h('span', { class: 'muted small', id: 'dlq-count', 'aria-live': 'polite' });
  main.append(messages, toolbar, h('div', { class: 'card flush' }, table), h('div', { class: 'list-foot' }, status, more));
  updateSelection();

  function updateSelection() {
    const n = selected.size;
    selCount.textContent = n ? `${fmtInt(n)} selected` : 'None selected';
    replaySel.disabled = deleteSel.disabled = n === 0;
    replaySel.textContent = n ? `Replay ${fmtInt(n)} selected` : 'Replay selected';
    deleteSel.textContent = n ? `Delete ${fmtInt(n)} selected` : 'Delete selected';
    selectAll.checked = items.size > 0 && n === items.size;
    selectAll.indeterminate = n > 0 && n < items.size;
  }

  function updateStatus() {
    if (!items.size && !cursor) {
      tbody.replaceChildren(h('tr', { class: 'empty-row' }, h('td', { colspan: '6' },
        isEmpty(f) ? 'The dead-letter queue is empty. Nothing failed for good.' : 'No entries match this filter.')));
    }
    status.textContent = items.size ? `${plural(items.size, 'entry', 'entries')} shown${cursor ? ', more below' : ''}` : '';
    more.hidden = !cursor;
  }

  function row(e) {
    const href = `#/dlq/${encodeURIComponent(e.id)}`;
    const last = e.errorHistory && e.errorHistory.length ? e.errorHistory[e.errorHistory.length - 1].error : '';
    const cb = canWrite() ? h('input', { type: 'checkbox', class: 'row-sel', 'aria-label': `Select entry ${e.id}`, checked: selected.has(e.id), onchange: () => {
      (cb.checked ? selected.add(e.id) : selected.delete(e.id));
      updateSelection();
    } }) : null;
    return h('tr', { dataset: { id: e.id, href }, class: e.replayedAt ? 'replayed' : null, onclick: (ev) => {
      if (ev.target.closest('a, input, button, label') || getSelection().toString()) return;
      go(href);
    } },
    cb ? h('td', { class: 'sel' }, cb) : null,
    h('td', { class: 'when-cell' }, h('a', { href, class: 'row-link' }, when(e.failedAt, { stacked: true }))),
    h('td', { class: 'app' }, appName(e.appId)),
    h('td', { class: 'type' }, e.type, e.replayedAt ? h('span', { class: 'badge ok' }, 'replayed') : null,
      e.replayOf ? h('span', { class: 'badge ro', title: 'Its job was itself a replay and failed again: bulk replays skip it unless they include replay loops.' }, 'replay loop') : null,
      tagList(e.tags, '#/dlq')),
    h('td', { class: 'num' }, fmtInt(e.attempts)),
    h('td', { class: 'err' }, h('span', { class: 'errline', title: last.slice(0, 2000) }, last.slice(0, 400) || '—')));
  }

  async function load() {
    more.disabled = true;
    const q = new URLSearchParams();
    for (const k of dlqFields) if (f[k]) q.set(k, f[k]);
    if (all) q.set('all', 'true');
    if (cursor) q.set('cursor', cursor);
    try {
      const page = await api('GET', `/v1/dlq?${q}`);
      if (!ctx.alive()) return;
      if (!items.size) tbody.replaceChildren();
      for (const e of page.items || []) {
        items.set(e.id, e);
        tbody.append(row(e));
      }
      cursor = page.nextCursor || '';
      updateStatus();
      updateSelection();
    } catch (err) {
      if (ctx.alive()) messages.replaceChildren(errorBox(err, form));
    } finally {
      more.disabled = false;
    }
  }

  function dropRow(id) {
    items.delete(id);
    selected.delete(id);
    tbody.querySelector(`tr[data-id="${CSS.escape(id)}"]`)?.remove();
  }

  // eachSelected replays or deletes the selected entries one request each, and reports
  // what worked and what was refused (409: already replayed, or a live job holds the key).
  async function eachSelected(kind) {
    const ids = [...selected];
    const n = ids.length;
    const verb = kind === 'replay' ? 'Replay' : 'Delete';
    const outcome = await dialog({
      title: `${verb} ${plural(n, 'selected entry', 'selected entries')}?`,
      body: [h('p', null, kind === 'replay'
        ? 'Each entry becomes a new job (attempts 0) at most once; entries already replayed are reported, not replayed again.'
        : 'The entries are deleted for good, replayed or not. This cannot be undone.')],
      confirmLabel: `${verb} ${fmtInt(n)}`,
      danger: kind === 'delete',
      onConfirm: () => runEach(ids, (id) => (kind === 'replay'
        ? api('POST', `/v1/dlq/${encodeURIComponent(id)}/replay`)
        : api('DELETE', `/v1/dlq/${encodeURIComponent(id)}`))),
    });
    if (!outcome || !ctx.alive()) return;
    const done = outcome.filter((r) => r.ok);
    const refused = outcome.filter((r) => !r.ok);
    for (const r of done) {
      if (kind === 'replay' && all) {
        selected.delete(r.id);
        tbody.querySelector(`tr[data-id="${CSS.escape(r.id)}"]`)?.classList.add('replayed');
      } else {
        dropRow(r.id);
      }
    }
    updateSelection();
    updateStatus();
    const conflicts = refused.filter((r) => r.err.status === 409);
    const past = kind === 'replay' ? 'Replayed' : 'Deleted';
    const msgs = [notice(done.length ? 'ok' : 'info', h('strong', null, `${past} ${plural(done.length, 'entry', 'entries')}.`),
      kind === 'replay' && conflicts.length ? ` ${plural(conflicts.length, 'conflict', 'conflicts')} (409): not replayed.` : '',
      refused.length - conflicts.length > 0 ? ` ${fmtInt(refused.length - conflicts.length)} failed.` : '')];
    if (refused.length) {
      msgs.push(h('ul', { class: 'refusals', id: 'refusals' }, refused.slice(0, 20).map((r) =>
        h('li', null, h('a', { href: `#/dlq/${encodeURIComponent(r.id)}` }, shortID(r.id)), ` ${r.err.status || ''} `, h('span', { class: 'msg' }, r.err.message)))));
    }
    messages.replaceChildren(...msgs);
  }

  // bulk replays or purges everything the filter matches: first a dry run, to say how many,
  // then the real call once the operator confirms that number.
  async function bulk(kind) {
    const body = {};
    for (const k of dlqFields) if (f[k]) body[k] = f[k];
    const button = kind === 'replay' ? bulkReplay : bulkPurge;
    messages.replaceChildren();
    button.disabled = true;
    let dry;
    try {
      dry = await api('POST', `/v1/dlq/${kind}`, { ...body, dryRun: true });
    } catch (err) {
      if (ctx.alive()) messages.replaceChildren(errorBox(err, form));
      return;
    } finally {
      button.disabled = false;
    }
    if (!ctx.alive()) return;
    const n = dry.matched || 0;
    if (!n) {
      messages.replaceChildren(notice('info', `No entries match this filter: nothing to ${kind}.`));
      return;
    }
    const rate = h('input', { type: 'number', name: 'rate', id: 'bulk-rate', min: '0', step: 'any', placeholder: 'no limit', inputmode: 'decimal' });
    const verb = kind === 'replay' ? 'Replay' : 'Purge';
    const result = await dialog({
      title: `${verb} ${plural(n, 'entry', 'entries')} ${describeFilter(f)}?`.replace(/ \?$/, '?'),
      body: kind === 'replay'
        ? [h('p', null, 'Counted just now. Each becomes a new job at most once; entries failing from now on are left alone.'),
          field('Rate', rate, 'entries per second, optional')]
        : [h('p', null, 'Counted just now, replayed or not. The entries are deleted for good: this cannot be undone.')],
      confirmLabel: `${verb} ${plural(n, 'entry', 'entries')}`,
      danger: kind === 'purge',
      onConfirm: () => {
        const req = { ...body };
        if (kind === 'replay' && Number(rate.value) > 0) req.rate = Number(rate.value);
        return api('POST', `/v1/dlq/${kind}`, req);
      },
    });
    if (!result || !ctx.alive()) return;
    if (kind === 'replay') {
      // A bulk replay is a durable operation (202): the workers and sluice serve run it.
      await followReplay(result);
      return;
    }
    flash('ok', h('strong', null, `Purged ${plural(result.purged ?? 0, 'entry', 'entries')}`), ` of ${fmtInt(result.matched ?? n)} matched.`);
    render();
  }

  // followReplay shows a replay operation's progress, with buttons to pause, resume and
  // cancel it, reading it again every half second until it is done (then the listing is
  // shown again with the result), cancelled or failed, or the operator leaves the screen.
  async function followReplay(op) {
    const status = h('span', { id: 'replay-status' });
    const pause = h('button', { type: 'button', id: 'replay-pause', class: 'btn' }, 'Pause');
    const cancel = h('button', { type: 'button', id: 'replay-cancel', class: 'btn danger' }, 'Cancel');
    const panel = notice('info', h('strong', null, 'Replay operation '), h('code', null, op.id), ' ', status, ' ', pause, ' ', cancel);
    panel.id = 'replay-progress';
    let cur = op;
    const show = (o) => {
      status.textContent = `${o.status}: matched ${fmtInt(o.matched)}, replayed ${fmtInt(o.replayed)}, failed ${fmtInt(o.failed)}, skipped ${fmtInt(o.skipped)}.`;
      pause.textContent = o.status === 'paused' ? 'Resume' : 'Pause';
      const open = (o.status === 'running' || o.status === 'paused') && canWrite();
      pause.hidden = !open;
      cancel.hidden = !open;
    };
    const act = async (verb) => {
      try {
        cur = await api('POST', `/v1/replays/${encodeURIComponent(op.id)}/${verb}`);
        if (ctx.alive()) show(cur);
      } catch (err) {
        if (ctx.alive()) messages.append(errorBox(err));
      }
    };
    pause.onclick = () => act(cur.status === 'paused' ? 'resume' : 'pause');
    cancel.onclick = () => act('cancel');
    show(cur);
    messages.replaceChildren(panel);
    while (ctx.alive()) {
      await new Promise((resolve) => setTimeout(resolve, 500));
      if (!ctx.alive()) return;
      try {
        cur = await api('GET', `/v1/replays/${encodeURIComponent(op.id)}`);
      } catch (err) {
        if (ctx.alive()) messages.append(errorBox(err));
        return;
      }
      if (!ctx.alive()) return;
      show(cur);
      if (cur.status === 'done') {
        flash('ok', h('strong', null, `Replayed ${plural(cur.replayed, 'entry', 'entries')}`), ` of ${fmtInt(cur.matched)} matched.`,
          cur.failed ? ` ${plural(cur.failed, 'entry', 'entries')} stay in the queue: ${cur.lastError}.` : '',
          cur.skipped ? ` ${plural(cur.skipped, 'replay loop', 'replay loops')} skipped (entries whose job was itself a replay).` : '');
        render();
        return;
      }
      if (cur.status === 'cancelled' || cur.status === 'failed') return;
    }
  }

  await load();
}

// ---------------------------------------------------------------------------------------
// Failure groups: un-replayed entries of one app and type whose last errors are the same
// once numbers, ids, addresses and quoted values are masked. A group opens the listing
// filtered by it, where replay and purge of the group go through the usual confirmations.

const groupFields = ['app', 'type', 'failedAfter', 'failedBefore'];

// groupPage is how many groups one page of the key order holds; the ranking shows the
// largest groupTop at once.
const groupPage = 100;
const groupTop = 200;

// viewGroups shows the groups ranked, the largest first (the default), or, with order=key in
// the address, every group by app, type and signature, a page at a time with "Load more":
// the ranking moves as entries arrive, so only the key order can be paged without gaps.
async function viewGroups(main, params, ctx) {
  const f = readFilter(params, groupFields);
  const byKey = params.get('order') === 'key';
  const orderHash = (key) => listHash('#/groups', { ...f, order: key ? 'key' : '' }, [...groupFields, 'order']);
  if (!state.types.length) await loadTypes().catch(() => {});
  if (!ctx.alive()) return;
  const form = filterForm({
    id: 'groups-filter',
    fields: [
      field('App', appSelect(f.app)),
      field('Type', typeInput(f.type)),
      field('Failed after', h('input', { type: 'datetime-local', step: '1', name: 'failedAfter', id: 'f-after', value: toLocalInput(f.failedAfter || '') }), 'UTC'),
      field('Failed before', h('input', { type: 'datetime-local', step: '1', name: 'failedBefore', id: 'f-before', value: toLocalInput(f.failedBefore || '') }), 'UTC'),
    ],
    onApply: (data) => go(listHash('#/groups', {
      app: String(data.get('app') || '').trim(),
      type: String(data.get('type') || '').trim(),
      failedAfter: fromLocalInput(String(data.get('failedAfter') || '')),
      failedBefore: fromLocalInput(String(data.get('failedBefore') || '')),
      order: byKey ? 'key' : '',
    }, [...groupFields, 'order'])),
    onClear: () => go(byKey ? '#/groups?order=key' : '#/groups'),
  });
  const phrase = describeFilter(f);
  const order = byKey
    ? 'every group by app, type and signature, a page at a time'
    : 'the largest groups first';
  main.append(pageHead('Failure groups', `Entries not yet replayed${phrase ? ` ${phrase}` : ''} that failed the same way (numbers, ids, addresses and quoted values masked), ${order}. Open a group to see, replay or purge its entries.`), form);
  const orderLink = (key, label) => (key === byKey
    ? h('strong', { 'aria-current': 'true' }, label)
    : h('a', { href: orderHash(key) }, label));
  const orders = h('p', { class: 'muted small', id: 'groups-order' }, 'Show: ', orderLink(false, 'largest first'), ' · ', orderLink(true, 'every group, by app and type'));
  const messages = h('div', { class: 'messages', id: 'groups-messages' });
  const tbody = h('tbody', null, h('tr', { class: 'empty-row' }, h('td', { colspan: '6' }, 'Loading…')));
  const status = h('span', { class: 'muted small', id: 'groups-count', 'aria-live': 'polite' });
  const more = h('button', { type: 'button', id: 'groups-more', hidden: true, onclick: () => load() }, 'Load more');
  main.append(orders, messages, h('div', { class: 'card flush' }, h('table', { class: 'grid rows groups', id: 'groups-table' },
    h('thead', null, h('tr', null, ['Entries', 'App', 'Type', 'First failed', 'Last failed', 'Sample error'].map((c) =>
      h('th', { scope: 'col', class: c === 'Entries' ? 'num' : null }, c)))),
    tbody)), h('div', { class: 'list-foot' }, status, more));
  let cursor = '';
  let shown = 0;

  async function load() {
    more.disabled = true;
    const q = new URLSearchParams();
    for (const k of groupFields) if (f[k]) q.set(k, f[k]);
    if (byKey) {
      q.set('order', 'key');
      q.set('limit', String(groupPage));
      if (cursor) q.set('cursor', cursor);
    } else {
      q.set('limit', String(groupTop));
    }
    try {
      const page = await api('GET', `/v1/dlq/groups?${q}`);
      if (!ctx.alive()) return;
      const items = page.items || [];
      if (!shown) tbody.replaceChildren();
      tbody.append(...items.map(groupRow));
      shown += items.length;
      cursor = page.nextCursor || '';
      if (!shown) {
        tbody.replaceChildren(h('tr', { class: 'empty-row' }, h('td', { colspan: '6' },
          groupFields.every((k) => !f[k]) ? 'No failure groups: nothing is waiting in the dead-letter queue.' : 'No failure groups match this filter.')));
      }
      if (byKey) {
        status.replaceChildren(shown ? `${plural(shown, 'group', 'groups')} shown${cursor ? ', more below' : ''}` : '');
      } else if (shown === groupTop) {
        status.replaceChildren(`${plural(shown, 'group', 'groups')} (the ${groupTop} largest; `, h('a', { href: orderHash(true) }, 'see every group'), ')');
      } else {
        status.replaceChildren(shown ? plural(shown, 'group', 'groups') : '');
      }
      more.hidden = !cursor;
    } catch (err) {
      if (ctx.alive()) {
        if (!shown) tbody.replaceChildren();
        messages.replaceChildren(errorBox(err, form));
      }
    } finally {
      more.disabled = false;
    }
  }
  await load();
}

function groupRow(g) {
  const name = appName(g.appId);
  const href = listHash('#/dlq', { app: name, type: g.type, group: g.signature }, dlqFields);
  return h('tr', { dataset: { signature: g.signature, href }, onclick: (ev) => {
    if (!ev.target.closest('a') && !getSelection().toString()) go(href);
  } },
  h('td', { class: 'num count' }, h('a', { href, class: 'row-link group-link', title: `List the ${plural(g.count, 'entry', 'entries')} of this group` }, fmtInt(g.count))),
  h('td', { class: 'app' }, name),
  h('td', { class: 'type' }, g.type),
  h('td', { class: 'when-cell' }, when(g.firstFailedAt, { stacked: true })),
  h('td', { class: 'when-cell' }, when(g.lastFailedAt, { stacked: true })),
  h('td', { class: 'err' },
    h('span', { class: 'errline sample', title: (g.sampleError || '').slice(0, 2000) }, (g.sampleError || '').slice(0, 400) || '—'),
    h('span', { class: 'sig muted small', title: g.normalized || 'Entries written without a signature (by an older Sluice)' }, `group ${g.signature}`)));
}

// runEach calls fn for each id, four at a time, and returns [{id, ok, err}] in order.
async function runEach(ids, fn) {
  const out = new Array(ids.length);
  let next = 0;
  async function worker() {
    while (next < ids.length) {
      const i = next++;
      try {
        await fn(ids[i]);
        out[i] = { id: ids[i], ok: true };
      } catch (err) {
        out[i] = { id: ids[i], ok: false, err };
      }
    }
  }
  await Promise.all([worker(), worker(), worker(), worker()]);
  return out;
}

// ---------------------------------------------------------------------------------------
// One dead-letter entry

async function viewEntry(main, _params, ctx, id) {
  const back = h('a', { class: 'back', href: state.lastList, id: 'back' }, '← Dead letters');
  main.append(back);
  let e;
  try {
    e = await api('GET', `/v1/dlq/${encodeURIComponent(id)}`);
  } catch (err) {
    if (ctx.alive()) main.append(err.status === 404 ? notice('info', 'No dead-letter entry has this id: it may have been purged, or belong to another app.') : errorBox(err));
    return;
  }
  if (!ctx.alive()) return;
  const messages = h('div', { class: 'messages', id: 'entry-messages' });
  const actions = [];
  if (canWrite()) {
    if (!e.replayedAt) {
      const replay = h('button', { type: 'button', class: 'primary', id: 'replay', onclick: async () => {
        replay.disabled = true;
        messages.replaceChildren();
        try {
          const job = await api('POST', `/v1/dlq/${encodeURIComponent(e.id)}/replay`);
          flash('ok', h('strong', null, 'Replayed'), ` ${e.type} entry ${shortID(e.id)} of ${appName(e.appId)} as job `,
            h('a', { href: `#/jobs/${encodeURIComponent(job.id)}` }, shortID(job.id)), '.');
          go(state.lastList);
        } catch (err) {
          if (!ctx.alive()) return;
          messages.replaceChildren(errorBox(err));
          replay.disabled = err.status === 409;
        }
      } }, 'Replay');
      actions.push(replay);
    }
    actions.push(h('button', { type: 'button', class: 'danger-outline', id: 'delete', onclick: async () => {
      const ok = await dialog({
        title: 'Delete this entry?',
        body: [h('p', null, `The ${e.type} entry of ${appName(e.appId)} and its error history are deleted for good.`)],
        confirmLabel: 'Delete entry',
        danger: true,
        onConfirm: () => api('DELETE', `/v1/dlq/${encodeURIComponent(e.id)}`),
      });
      if (!ok || !ctx.alive()) return;
      flash('ok', h('strong', null, 'Deleted'), ` ${e.type} entry ${shortID(e.id)} of ${appName(e.appId)}.`);
      go(state.lastList);
    } }, 'Delete…'));
  }
  const status = e.replayedAt
    ? h('span', { class: 'badge ok' }, 'replayed ', relative(e.replayedAt))
    : h('span', { class: 'badge dead' }, 'dead');
  main.append(
    h('div', { class: 'page-head' },
      h('div', null, h('h1', { class: 'mono-title' }, e.type), h('p', { class: 'sub' }, h('span', { class: 'badge' }, appName(e.appId)), ' ', status,
        h('span', { class: 'muted' }, ` · failed ${relative(e.failedAt)} after ${plural(e.attempts, 'attempt', 'attempts')}`))),
      h('div', { class: 'head-extra actions' }, actions)),
    messages,
    h('div', { class: 'detail' },
      h('section', { class: 'card history', 'aria-labelledby': 'h-history' }, timeline(e.errorHistory || [])),
      h('div', { class: 'side' },
        h('section', { class: 'card', 'aria-labelledby': 'h-meta' }, h('h2', { id: 'h-meta' }, 'Entry'), meta([
          ['Entry id', h('code', { class: 'id' }, e.id)],
          ['Original job', h('code', { class: 'id' }, e.originalJobId)],
          ['App', appName(e.appId)],
          ['Type', h('code', null, e.type)],
          ['Queue', e.queue || null],
          ['Priority', e.queue ? String(e.priority) : null],
          ['Attempts', e.maxAttempts ? `${fmtInt(e.attempts)} of ${fmtInt(e.maxAttempts)}` : fmtInt(e.attempts)],
          ['Failed at', when(e.failedAt, { ms: true, stacked: true })],
          ['Replayed at', e.replayedAt ? when(e.replayedAt, { ms: true, stacked: true }) : null],
          ['Replay job', e.replayJobId ? h('a', { href: `#/jobs/${encodeURIComponent(e.replayJobId)}` }, h('code', { class: 'id' }, e.replayJobId)) : null],
          ['Unique key', e.uniqueKey ? h('code', null, e.uniqueKey) : null],
          ['Tags', tagList(e.tags, '#/dlq')],
          ['Trace', traceCell(e)],
          ['Failure group', h('a', { id: 'entry-group', href: listHash('#/dlq', { app: appName(e.appId), type: e.type, group: e.errorSignature || 'unknown' }, dlqFields), title: 'The un-replayed entries that failed the same way' },
            h('code', null, e.errorSignature || 'unknown'))],
        ])),
        payloadSection(e.payload))));
}

function meta(rows) {
  return h('dl', { class: 'meta' }, rows.filter(([, v]) => v != null && v !== '').map(([k, v]) => [h('dt', null, k), h('dd', null, v)]));
}

function payloadSection(payload) {
  const text = JSON.stringify(payload, null, 2) ?? '';
  const copied = h('span', { class: 'muted small', 'aria-live': 'polite' });
  const copy = h('button', { type: 'button', class: 'ghost small', onclick: async () => {
    try {
      await navigator.clipboard.writeText(text);
      copied.textContent = 'Copied';
    } catch {
      copied.textContent = 'Cannot copy here: select the text instead';
    }
  } }, 'Copy');
  return h('section', { class: 'card', 'aria-labelledby': 'h-payload' },
    h('div', { class: 'section-head' }, h('h2', { id: 'h-payload' }, 'Payload'), copied, copy),
    h('pre', { class: 'code payload', id: 'payload', tabindex: '0' }, text));
}

const longLines = 14;
const longChars = 1600;

// timeline shows every failed attempt, newest first: attempt number, UTC time and age, the
// gap since the attempt before, and the error text in full (long ones folded).
function timeline(history) {
  const head = h('div', { class: 'section-head' }, h('h2', { id: 'h-history' }, 'Error history'),
    h('span', { class: 'muted small' }, history.length ? `${plural(history.length, 'attempt', 'attempts')}, newest first` : ''));
  if (!history.length) return [head, h('p', { class: 'muted' }, 'No error was recorded.')];
  const items = history.map((r, i) => ({ ...r, n: i + 1, gap: i ? r.timestamp - history[i - 1].timestamp : null })).reverse();
  return [head, h('ol', { class: 'timeline', id: 'timeline' }, items.map((r) => {
    const lines = r.error.split('\n').length;
    const long = lines > longLines || r.error.length > longChars;
    const pre = h('pre', { class: ['errtext', long && 'folded'], tabindex: '0' }, r.error);
    const toggle = long ? h('button', { type: 'button', class: 'ghost small fold', 'aria-expanded': 'false', onclick: () => {
      const open = pre.classList.toggle('folded') === false;
      toggle.setAttribute('aria-expanded', String(open));
      toggle.textContent = open ? 'Show less' : `Show all ${plural(lines, 'line', 'lines')}`;
    } }, `Show all ${plural(lines, 'line', 'lines')}`) : null;
    return h('li', { class: ['attempt', r.n === history.length && 'final'], dataset: { attempt: String(r.n) } },
      h('div', { class: 'attempt-head' },
        h('strong', null, `Attempt ${r.n}`),
        r.n === history.length ? h('span', { class: 'badge dead' }, 'last') : null,
        when(r.timestamp, { ms: true }),
        r.gap != null ? h('span', { class: 'muted small' }, `+${r.gap < 1000 ? `${r.gap} ms` : humanDuration(r.gap)} after attempt ${r.n - 1}`) : null),
      pre, toggle);
  }))];
}

// ---------------------------------------------------------------------------------------
// Jobs

const jobFields = ['app', 'type', 'status', 'tag'];
const statuses = ['pending', 'running', 'completed', 'cancelled'];

// cancelRequested reports whether an operator asked to cancel the job while it runs: its
// worker has been told, and it ends when its handler returns.
const cancelRequested = (j) => j.status === 'running' && !!j.cancelRequestedAt;

function jobStatus(j) {
  const retrying = j.status === 'pending' && j.attempts > 0 && j.lastError;
  const badge = h('span', { class: ['badge', `st-${retrying ? 'retrying' : j.status}`] }, retrying ? 'retrying' : j.status);
  if (!cancelRequested(j)) return badge;
  return [badge, ' ', h('span', { class: 'badge st-cancelling cancel-requested', title: `Cancel requested ${fmtUTC(j.cancelRequestedAt)}: the job ends when its handler returns` }, 'cancel requested')];
}

async function viewJobs(main, params, ctx) {
  const f = readFilter(params, jobFields);
  if (!state.types.length) await loadTypes().catch(() => {});
  if (!ctx.alive()) return;
  const form = filterForm({
    id: 'jobs-filter',
    fields: [
      field('App', appSelect(f.app)),
      field('Type', typeInput(f.type)),
      field('Status', h('select', { name: 'status', id: 'f-status' }, h('option', { value: '' }, 'Any status'),
        statuses.map((s) => h('option', { value: s, selected: s === f.status }, s)))),
      tagInput(f.tag),
    ],
    onApply: (data) => go(listHash('#/jobs', Object.fromEntries(jobFields.map((k) => [k, String(data.get(k) || '').trim()])), jobFields)),
    onClear: () => go('#/jobs'),
  });
  const subject = [f.app, f.type].filter(Boolean).join(' / ');
  main.append(pageHead('Jobs', `${f.status ? `${f.status[0].toUpperCase()}${f.status.slice(1)} jobs` : 'Jobs'}${subject ? ` of ${subject}` : ''}, newest first.`), form);
  const messages = h('div', { class: 'messages' });
  const tbody = h('tbody');
  const more = h('button', { type: 'button', id: 'load-more', hidden: true, onclick: () => load() }, 'Load more');
  const status = h('span', { class: 'muted small', 'aria-live': 'polite' });
  main.append(messages, h('div', { class: 'card flush' }, h('table', { class: 'grid rows jobs', id: 'jobs-table' },
    h('thead', null, h('tr', null, ['Created', 'App', 'Type', 'Status', 'Attempts', 'Queue', 'Runs at', 'Last error'].map((c) =>
      h('th', { scope: 'col', class: c === 'Attempts' ? 'num' : null }, c)))),
    tbody)), h('div', { class: 'list-foot' }, status, more));
  let cursor = '';
  let shown = 0;

  async function load() {
    more.disabled = true;
    const q = new URLSearchParams();
    for (const k of jobFields) if (f[k]) q.set(k, f[k]);
    if (cursor) q.set('cursor', cursor);
    try {
      const page = await api('GET', `/v1/jobs?${q}`);
      if (!ctx.alive()) return;
      for (const j of page.items || []) {
        const href = `#/jobs/${encodeURIComponent(j.id)}`;
        shown++;
        tbody.append(h('tr', { dataset: { id: j.id, href }, onclick: (ev) => {
          if (!ev.target.closest('a') && !getSelection().toString()) go(href);
        } },
        h('td', { class: 'when-cell' }, h('a', { href, class: 'row-link' }, when(j.createdAt, { stacked: true }))),
        h('td', { class: 'app' }, appName(j.appId)),
        h('td', { class: 'type' }, j.type, tagList(j.tags, '#/jobs')),
        h('td', null, jobStatus(j)),
        h('td', { class: 'num' }, `${fmtInt(j.attempts)} / ${fmtInt(j.maxAttempts)}`),
        h('td', null, j.queue),
        h('td', { class: 'when-cell' }, j.status === 'pending' ? when(j.runAt, { stacked: true }) : h('span', { class: 'muted' }, '—')),
        h('td', { class: 'err' }, h('span', { class: 'errline', title: (j.lastError || '').slice(0, 2000) }, (j.lastError || '').slice(0, 400) || '—'))));
      }
      if (!shown) tbody.replaceChildren(h('tr', { class: 'empty-row' }, h('td', { colspan: '8' }, 'No jobs match this filter.')));
      cursor = page.nextCursor || '';
      more.hidden = !cursor;
      status.textContent = shown ? `${plural(shown, 'job', 'jobs')} shown${cursor ? ', more below' : ''}` : '';
    } catch (err) {
      if (ctx.alive()) messages.replaceChildren(errorBox(err, form));
    } finally {
      more.disabled = false;
    }
  }
  await load();
}

// ---------------------------------------------------------------------------------------
// Alerts: what the alerters delivered, gave up on, or still have to deliver.

const alertFields = ['app', 'status'];
const alertStatuses = ['pending', 'delivered', 'failed'];

async function viewAlerts(main, params, ctx) {
  const f = readFilter(params, alertFields);
  const form = filterForm({
    id: 'alerts-filter',
    fields: [
      field('App', appSelect(f.app)),
      field('Status', h('select', { name: 'status', id: 'f-alert-status' }, h('option', { value: '' }, 'Any status'),
        alertStatuses.map((s) => h('option', { value: s, selected: s === f.status }, s)))),
    ],
    onApply: (data) => go(listHash('#/alerts', Object.fromEntries(alertFields.map((k) => [k, String(data.get(k) || '').trim()])), alertFields)),
    onClear: () => go('#/alerts'),
  });
  main.append(pageHead('Alerts', `${f.status ? `${f.status[0].toUpperCase()}${f.status.slice(1)} alerts` : 'Alerts'}${f.app ? ` of ${f.app}` : ''} of dead-lettered jobs and failure groups, newest first: pending ones with their failed attempts and next try, and those delivered or given up on in the last 7 days.`), form);
  const messages = h('div', { class: 'messages', id: 'alerts-messages' });
  const tbody = h('tbody');
  const more = h('button', { type: 'button', id: 'load-more', hidden: true, onclick: () => load() }, 'Load more');
  const status = h('span', { class: 'muted small', id: 'alerts-count', 'aria-live': 'polite' });
  main.append(messages, h('div', { class: 'card flush' }, h('table', { class: 'grid rows alerts', id: 'alerts-table' },
    h('thead', null, h('tr', null, ['Queued', 'Event', 'App', 'Type', 'Status', 'Attempts', 'Next try', 'Finished', 'Last error'].map((c) =>
      h('th', { scope: 'col', class: c === 'Attempts' ? 'num' : null }, c)))),
    tbody)), h('div', { class: 'list-foot' }, status, more));
  let cursor = '';
  let shown = 0;

  async function load() {
    more.disabled = true;
    const q = new URLSearchParams();
    for (const k of alertFields) if (f[k]) q.set(k, f[k]);
    if (cursor) q.set('cursor', cursor);
    try {
      const page = await api('GET', `/v1/alerts?${q}`);
      if (!ctx.alive()) return;
      for (const a of page.items || []) {
        shown++;
        const subject = a.event === 'group.threshold'
          ? h('a', { href: listHash('#/dlq', { app: appName(a.appId), type: a.type, group: a.group }, dlqFields), title: 'The entries of this failure group' }, `group ${a.group}`)
          : h('a', { href: `#/dlq/${encodeURIComponent(a.id)}`, title: 'The dead-letter entry' }, `entry ${shortID(a.id)}`);
        tbody.append(h('tr', { dataset: { id: a.id, status: a.status } },
          h('td', { class: 'when-cell' }, when(a.createdAt, { stacked: true })),
          h('td', null, h('span', { class: 'event' }, a.event), ' ', h('span', { class: 'muted small' }, subject)),
          h('td', { class: 'app' }, appName(a.appId)),
          h('td', { class: 'type' }, a.type),
          h('td', null, h('span', { class: `badge alert-${a.status}` }, a.status)),
          h('td', { class: 'num' }, fmtInt(a.attempts)),
          h('td', { class: 'when-cell' }, a.nextAttemptAt ? when(a.nextAttemptAt, { stacked: true }) : h('span', { class: 'muted' }, '—')),
          h('td', { class: 'when-cell' }, a.finishedAt ? when(a.finishedAt, { stacked: true }) : h('span', { class: 'muted' }, '—')),
          h('td', { class: 'err' }, h('span', { class: 'errline', title: (a.lastError || '').slice(0, 2000) }, (a.lastError || '').slice(0, 400) || '—'))));
      }
      if (!shown) {
        tbody.replaceChildren(h('tr', { class: 'empty-row' }, h('td', { colspan: '9' },
          alertFields.every((k) => !f[k]) ? 'No alerts: nothing was dead-lettered since alerts were set up, or no alerter runs.' : 'No alerts match this filter.')));
      }
      cursor = page.nextCursor || '';
      more.hidden = !cursor;
      status.textContent = shown ? `${plural(shown, 'alert', 'alerts')} shown${cursor ? ', more below' : ''}` : '';
    } catch (err) {
      if (ctx.alive()) messages.replaceChildren(errorBox(err, form));
    } finally {
      more.disabled = false;
    }
  }
  await load();
}

// ---------------------------------------------------------------------------------------
// Periodic schedules

// scheduleWhen is a schedule's cron expression and time zone, or its interval.
const scheduleWhen = (s) => (s.cron ? `${s.cron} (${s.timeZone})` : `every ${s.every}`);

async function viewSchedules(main, _params, ctx) {
  main.append(pageHead('Schedules', 'Periodic jobs: each tick enqueues one job. A stale schedule is registered by no running process, so nothing ticks it.'));
  const messages = h('div', { class: 'messages' });
  const tbody = h('tbody');
  main.append(messages, h('div', { class: 'card flush' }, h('table', { class: 'grid rows schedules', id: 'schedules-table' },
    h('thead', null, h('tr', null, ['App', 'Name', 'Type', 'When', 'Last tick', 'Next tick', 'Ticks', 'State', ''].map((c) =>
      h('th', { scope: 'col', class: c === 'Ticks' ? 'num' : null }, c)))),
    tbody)));
  async function load() {
    try {
      const list = await api('GET', '/v1/schedules');
      if (!ctx.alive()) return;
      const items = list.items || [];
      tbody.replaceChildren(...items.map((s) => h('tr', { dataset: { id: s.id } },
        h('td', { class: 'app' }, appName(s.appId)),
        h('td', { class: 'name' }, s.name),
        h('td', { class: 'type' }, h('a', { href: `#/jobs?${new URLSearchParams({ app: appName(s.appId), type: s.type })}`, title: 'Jobs of this type' }, s.type)),
        h('td', { class: 'when-spec' }, scheduleWhen(s), s.catchUp === 'none' ? h('span', { class: 'muted small', title: 'A tick found more than a minute late is skipped.' }, ' · no catch-up') : null),
        h('td', { class: 'when-cell' }, s.lastTickAt ? when(s.lastTickAt, { stacked: true }) : h('span', { class: 'muted' }, '—')),
        h('td', { class: 'when-cell' }, s.nextTickAt && !s.stale ? when(s.nextTickAt, { stacked: true }) : h('span', { class: 'muted' }, '—')),
        h('td', { class: 'num', title: `${fmtInt(s.ticksSkipped)} skipped by the catch-up policy` }, `${fmtInt(s.ticksEnqueued)} / ${fmtInt(s.ticksSkipped)} skipped`),
        h('td', null, s.stale
          ? h('span', { class: 'badge dead', title: `Last registered ${fmtUTC(s.seenAt)}` }, 'stale')
          : h('span', { class: 'badge ok' }, 'active')),
        h('td', null, canWrite() ? h('button', { type: 'button', class: 'ghost small delete-schedule', onclick: () => remove(s) }, 'Delete') : null))));
      if (!items.length) tbody.replaceChildren(h('tr', { class: 'empty-row' }, h('td', { colspan: '9' }, 'No periodic schedules. Register one in Go with client.Periodic.')));
    } catch (err) {
      if (ctx.alive()) messages.replaceChildren(errorBox(err));
    }
  }
  async function remove(s) {
    const done = await dialog({
      title: `Delete schedule ${s.name}?`,
      body: [h('p', null, s.stale
        ? 'No running process registers it: it is not ticking. Deleting it removes it and its last tick.'
        : 'A running process still registers it: it will register it again within a minute, starting afresh from its next tick.')],
      confirmLabel: 'Delete', danger: true,
      onConfirm: () => api('DELETE', `/v1/schedules/${encodeURIComponent(s.id)}`),
    });
    if (done && ctx.alive()) {
      messages.replaceChildren(notice('ok', `Deleted schedule ${s.name}.`));
      await load();
    }
  }
  await load();
}

// ---------------------------------------------------------------------------------------
// Pauses: scopes (an app, a queue, a type, or a combination) whose jobs no worker claims

const scopeFields = ['app', 'queue', 'type'];

// scopeText writes a pause's scope: "queue mail of acme", "type report.build", "app acme".
function scopeText(p) {
  const parts = [];
  if (p.queue) parts.push(`queue ${p.queue}`);
  if (p.type) parts.push(`type ${p.type}`);
  const app = p.appId ? appName(p.appId) : '';
  if (!parts.length) return `app ${app}`;
  return `${parts.join(', ')}${app ? ` of ${app}` : ''}`;
}

async function viewPauses(main, _params, ctx) {
  if (!state.types.length) await loadTypes().catch(() => {});
  if (!ctx.alive()) return;
  main.append(pageHead('Pauses', 'No worker claims a job of a paused scope — an app, a queue, a job type, or a combination — until it is resumed. Attempts already running finish; enqueueing goes on, and the jobs wait.'));
  const messages = h('div', { class: 'messages', id: 'pauses-messages' });
  let form = null;
  if (canWrite()) {
    const button = h('button', { type: 'submit', class: 'primary', id: 'pause-submit' }, 'Pause');
    form = h('form', { class: 'filters card', id: 'pause-form', onsubmit: async (e) => {
      e.preventDefault();
      const data = new FormData(form);
      const scope = {};
      for (const k of scopeFields) {
        const v = String(data.get(k) || '').trim();
        if (v) scope[k] = v;
      }
      button.disabled = true;
      messages.replaceChildren();
      try {
        const p = await api('POST', '/v1/pauses', scope);
        if (!ctx.alive()) return;
        for (const el of form.querySelectorAll('[aria-invalid]')) el.removeAttribute('aria-invalid');
        form.reset();
        messages.replaceChildren(notice('ok', h('strong', null, 'Paused'), ` ${scopeText(p)}: its jobs are not claimed until it is resumed.`));
        await load();
      } catch (err) {
        if (!ctx.alive()) return;
        messages.replaceChildren(errorBox(err, form));
        // A scope naming nothing is an error on all three fields.
        if (err.field === 'scope') for (const k of scopeFields) form.elements[k].setAttribute('aria-invalid', 'true');
      } finally {
        button.disabled = false;
      }
    } },
    // An app token pauses its own app's work only: its app is the one choice.
    field('App', h('select', { name: 'app', id: 'p-app' }, state.session.admin ? h('option', { value: '' }, 'Any app') : null,
      state.apps.map((a) => h('option', { value: a.name }, a.name)))),
    field('Queue', h('input', { name: 'queue', id: 'p-queue', placeholder: 'any queue', autocomplete: 'off', spellcheck: 'false', size: '14' })),
    field('Type', [h('input', { name: 'type', id: 'p-type', list: 'pause-types', placeholder: 'any type', autocomplete: 'off', spellcheck: 'false' }),
      h('datalist', { id: 'pause-types' }, state.types.map((t) => h('option', { value: t })))]),
    h('div', { class: 'filter-actions' }, button, h('span', { class: 'muted small' }, 'Give one or more: an app’s queue, say.')));
  }
  const tbody = h('tbody');
  add(main, [form, messages, h('div', { class: 'card flush' }, h('table', { class: 'grid rows pauses', id: 'pauses-table' },
    h('thead', null, h('tr', null, ['App', 'Queue', 'Type', 'Paused at', 'By', ''].map((c) => h('th', { scope: 'col' }, c)))),
    tbody))]);
  const any = (what) => h('span', { class: 'muted' }, `any ${what}`);

  async function load() {
    try {
      const list = await api('GET', '/v1/pauses');
      if (!ctx.alive()) return;
      const items = list.items || [];
      tbody.replaceChildren(...items.map((p) => h('tr', { dataset: { id: p.id } },
        h('td', { class: 'app' }, p.appId ? appName(p.appId) : any('app')),
        h('td', { class: 'queue' }, p.queue || any('queue')),
        h('td', { class: 'type' }, p.type || any('type')),
        h('td', { class: 'when-cell' }, when(p.pausedAt, { stacked: true })),
        h('td', { class: 'by' }, p.pausedBy || h('span', { class: 'muted' }, '—')),
        h('td', { class: 'actions' }, canWrite() ? h('button', { type: 'button', class: 'resume-pause', onclick: (ev) => resume(p, ev.target) }, 'Resume') : null))));
      if (!items.length) tbody.replaceChildren(h('tr', { class: 'empty-row' }, h('td', { colspan: '6' }, 'Nothing is paused: every job is claimed when it is due.')));
    } catch (err) {
      if (ctx.alive()) messages.replaceChildren(errorBox(err));
    }
  }

  async function resume(p, button) {
    button.disabled = true;
    // The scope exactly as it was paused, in the query.
    const q = new URLSearchParams();
    if (p.appId) q.set('app', p.appId);
    if (p.queue) q.set('queue', p.queue);
    if (p.type) q.set('type', p.type);
    try {
      await api('DELETE', `/v1/pauses?${q}`);
      if (!ctx.alive()) return;
      messages.replaceChildren(notice('ok', h('strong', null, 'Resumed'), ` ${scopeText(p)}: its due jobs are claimed again.`));
    } catch (err) {
      if (!ctx.alive()) return;
      messages.replaceChildren(err.status === 404 ? notice('info', `${scopeText(p)} was no longer paused.`) : errorBox(err));
    }
    await load();
  }

  await load();
}

async function viewJob(main, _params, ctx, id) {
  main.append(h('a', { class: 'back', href: '#/jobs', id: 'back' }, '← Jobs'));
  let j;
  try {
    j = await api('GET', `/v1/jobs/${encodeURIComponent(id)}`);
  } catch (err) {
    if (ctx.alive()) main.append(err.status === 404 ? notice('info', 'No job has this id: it may have been dead-lettered, removed by retention, or belong to another app.') : errorBox(err));
    return;
  }
  if (!ctx.alive()) return;
  const messages = h('div', { class: 'messages', id: 'job-messages' });
  main.append(
    h('div', { class: 'page-head' }, h('div', null, h('h1', { class: 'mono-title' }, j.type),
      h('p', { class: 'sub', id: 'job-status' }, h('span', { class: 'badge' }, appName(j.appId)), ' ', jobStatus(j),
        h('span', { class: 'muted' }, ` · created ${relative(j.createdAt)}`))),
    h('div', { class: 'head-extra actions' }, jobActions(j, ctx, messages))),
    messages,
    h('div', { class: ['detail', !j.errorHistory?.length && 'single'] },
      j.errorHistory?.length ? h('section', { class: 'card history', 'aria-labelledby': 'h-history' }, timeline(j.errorHistory)) : null,
      h('div', { class: 'side' },
        h('section', { class: 'card' }, h('h2', null, 'Job'), meta([
          ['Job id', h('code', { class: 'id' }, j.id)],
          ['App', appName(j.appId)],
          ['Type', h('code', null, j.type)],
          ['Status', jobStatus(j)],
          ['Queue', j.queue],
          ['Priority', String(j.priority)],
          ['Attempts', `${fmtInt(j.attempts)} of ${fmtInt(j.maxAttempts)}`],
          ['Runs at', j.status === 'pending' ? when(j.runAt, { ms: true, stacked: true }) : null],
          ['Started', j.startedAt ? when(j.startedAt, { ms: true, stacked: true }) : null],
          ['Cancel requested', cancelRequested(j) ? when(j.cancelRequestedAt, { ms: true, stacked: true }) : null],
          ['Completed', j.completedAt ? when(j.completedAt, { ms: true, stacked: true }) : null],
          ['Lease expires', j.leaseExpiresAt ? when(j.leaseExpiresAt, { ms: true, stacked: true }) : null],
          ['Created', when(j.createdAt, { ms: true, stacked: true })],
          ['Unique key', j.uniqueKey ? h('code', null, j.uniqueKey) : null],
          ['Replayed from', j.replayedFrom ? h('a', { href: `#/dlq/${encodeURIComponent(j.replayedFrom)}` }, h('code', { class: 'id' }, j.replayedFrom)) : null],
          ['Tags', tagList(j.tags, '#/jobs')],
          ['Trace', traceCell(j)],
        ])),
        payloadSection(j.payload))));
}

// jobActions are the buttons that change a job, for a session that may write: cancel it
// (pending, or running and not yet asked to), make it due now (pending), delete it (not
// running). Cancel and delete ask first. The outcome is shown above the job, read afresh;
// a deleted job's above the jobs.
function jobActions(j, ctx, messages) {
  if (!canWrite()) return [];
  const path = `/v1/jobs/${encodeURIComponent(j.id)}`;
  const what = `${j.type} job ${shortID(j.id)} of ${appName(j.appId)}`;
  const actions = [];
  if (j.status === 'pending' || (j.status === 'running' && !j.cancelRequestedAt)) {
    actions.push(h('button', { type: 'button', class: 'danger-outline', id: 'cancel-job', onclick: async () => {
      const running = j.status === 'running';
      const job = await dialog({
        title: 'Cancel this job?',
        body: [h('p', null, running
          ? 'It is running: its worker is told at once and its handler’s context is cancelled. The job ends cancelled when the handler returns — or completed, if the handler finishes its work anyway. It is never retried or dead-lettered.'
          : 'It has not run yet: it ends cancelled now and never runs. Its history records that an operator cancelled it.')],
        confirmLabel: 'Cancel job',
        dismissLabel: 'Keep it',
        danger: true,
        onConfirm: () => api('POST', `${path}/cancel`),
      });
      if (!job || !ctx.alive()) return;
      if (job.status === 'running') flash('ok', h('strong', null, 'Cancel requested'), ` for ${what}: its worker was told, and it ends when its handler returns.`);
      else flash('ok', h('strong', null, 'Cancelled'), ` ${what}.`);
      render();
    } }, 'Cancel…'));
  }
  if (j.status === 'pending') {
    const retry = h('button', { type: 'button', id: 'retry-job', title: 'Make it due now, keeping its attempts and history', onclick: async () => {
      retry.disabled = true;
      messages.replaceChildren();
      try {
        await api('POST', `${path}/retry`);
      } catch (err) {
        if (!ctx.alive()) return;
        messages.replaceChildren(errorBox(err));
        retry.disabled = err.status === 409;
        return;
      }
      if (!ctx.alive()) return;
      flash('ok', h('strong', null, 'Due now:'), ` ${what} is claimed by the next worker that takes its queue and type.`);
      render();
    } }, 'Retry now');
    actions.push(retry);
  }
  if (j.status !== 'running') {
    actions.push(h('button', { type: 'button', class: 'danger-outline', id: 'delete-job', onclick: async () => {
      const job = await dialog({
        title: 'Delete this job?',
        body: [h('p', null, `The ${j.status} job and its error history are deleted for good${j.status === 'pending' ? ': it never runs' : ''}.`)],
        confirmLabel: 'Delete job',
        danger: true,
        onConfirm: () => api('DELETE', path),
      });
      if (!job || !ctx.alive()) return;
      flash('ok', h('strong', null, 'Deleted'), ` ${what}.`);
      go('#/jobs');
    } }, 'Delete…'));
  }
  return actions;
}

// ---------------------------------------------------------------------------------------
// Keyboard

let pendingG = 0;

function rowsOnShow() {
  return [...document.querySelectorAll('table.rows tbody tr[data-href]')];
}

function moveRow(step) {
  const rows = rowsOnShow();
  if (!rows.length) return;
  const cur = document.activeElement && document.activeElement.closest && document.activeElement.closest('tr[data-href]');
  let i = rows.indexOf(cur);
  i = i < 0 ? (step > 0 ? 0 : rows.length - 1) : Math.min(rows.length - 1, Math.max(0, i + step));
  const link = rows[i].querySelector('a.row-link');
  link.focus();
  rows[i].scrollIntoView({ block: 'nearest' });
}

document.addEventListener('keydown', (e) => {
  if (!state.session || e.defaultPrevented || e.ctrlKey || e.metaKey || e.altKey) return;
  if (document.querySelector('dialog[open]')) return;
  const t = e.target;
  if (t.closest && t.closest('input, textarea, select, [contenteditable]')) {
    if (e.key === 'Escape') t.blur();
    return;
  }
  if (pendingG && Date.now() - pendingG < 1500) {
    pendingG = 0;
    const dest = { o: '#/', d: state.lastList, j: '#/jobs' }[e.key];
    if (dest) {
      e.preventDefault();
      go(dest);
    }
    return;
  }
  pendingG = 0;
  const { path } = currentRoute();
  switch (e.key) {
    case 'g':
      pendingG = Date.now();
      break;
    case '/': {
      const first = document.querySelector('[data-filter-first]');
      if (first) {
        e.preventDefault();
        first.focus();
      }
      break;
    }
    case 'j':
    case 'k':
      e.preventDefault();
      moveRow(e.key === 'j' ? 1 : -1);
      break;
    case 'x': {
      const cb = document.activeElement && document.activeElement.closest && document.activeElement.closest('tr')?.querySelector('input.row-sel');
      if (cb) cb.click();
      break;
    }
    case 'Escape':
      if (/^\/dlq\/.+/.test(path)) go(state.lastList);
      else if (/^\/jobs\/.+/.test(path)) go('#/jobs');
      break;
    case '?':
      showHelp();
      break;
    default:
  }
});

// ---------------------------------------------------------------------------------------
// Start

window.addEventListener('hashchange', () => render());

(async function start() {
  try {
    await loadSession();
  } catch (err) {
    if (err.status !== 401) {
      root.className = 'login-root';
      root.replaceChildren(h('main', { class: 'login' }, h('div', { class: 'card login-card' }, errorBox(err),
        h('button', { type: 'button', class: 'primary', onclick: () => location.reload() }, 'Try again'))));
      return;
    }
  }
  render();
}());
