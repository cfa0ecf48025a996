// The sign-in page: a "Sign in with ..." button per identity provider the
// gateway has (GET /admin/providers), above the admin token form.
'use strict';

document.addEventListener('DOMContentLoaded', async () => {
  let body;
  try {
    const resp = await fetch('/admin/providers', { credentials: 'same-origin', cache: 'no-store' });
    if (!resp.ok) return;
    body = await resp.json();
  } catch (_) { return; }
  const list = document.getElementById('signin-providers');
  for (const p of body.data || []) {
    const a = document.createElement('a');
    a.className = 'button';
    a.href = p.url;
    a.textContent = 'Sign in with ' + p.name;
    const li = document.createElement('li');
    li.append(a);
    list.append(li);
  }
  if (list.children.length > 0) {
    list.hidden = false;
    document.getElementById('signin-or').hidden = false;
  }
});
