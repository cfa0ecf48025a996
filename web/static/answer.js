// Model answers rendered as markdown, in the browser, as they stream:
// marked (vendor/) turns the text into HTML with every piece of raw HTML
// the model wrote escaped into text, DOMPurify (vendor/) then keeps only
// an allow-list of tags and attributes, and code blocks get a language
// label and a copy button. Nothing here uses inline script or style, so
// the page's Content-Security-Policy stays as strict as it is.
'use strict';

function escapeHTML(s) {
  return String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

const answerMarked = new marked.Marked({
  gfm: true,
  renderer: {
    // Raw HTML, block or inline, is shown as the text the model wrote.
    html(token) {
      return token.block ? '<p>' + escapeHTML(token.text.trim()) + '</p>\n' : escapeHTML(token.text);
    },
    // An image would be fetched from wherever the model pointed (and the
    // CSP refuses other origins): it becomes a link to it instead.
    image(token) {
      return '<a href="' + escapeHTML(token.href) + '">' + escapeHTML(token.text || token.href) + '</a>';
    },
    // A task list's checkboxes would be unlabelled form controls.
    checkbox(token) {
      return token.checked ? '☑ ' : '☐ ';
    },
  },
});

const purify = DOMPurify(window);
const purifyConfig = {
  ALLOWED_TAGS: ['a', 'blockquote', 'br', 'code', 'del', 'em', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'hr', 'li', 'ol', 'p', 'pre',
    'strong', 'table', 'tbody', 'td', 'th', 'thead', 'tr', 'ul'],
  ALLOWED_ATTR: ['href', 'title', 'class', 'align', 'start'],
  ALLOWED_URI_REGEXP: /^(?:https?:|mailto:|#)/i,
  // Not URLs: without this DOMPurify holds them to the URL pattern too.
  ADD_URI_SAFE_ATTR: ['align', 'start'],
  ALLOW_DATA_ATTR: false,
  RETURN_DOM_FRAGMENT: true,
};
purify.addHook('afterSanitizeAttributes', (node) => {
  if (node.tagName === 'A') {
    node.setAttribute('target', '_blank');
    node.setAttribute('rel', 'noopener noreferrer nofollow');
  }
  // Only the language classes marked sets on code survive.
  if (node.hasAttribute('class') && !(node.tagName === 'CODE' && /^language-[\w+#.-]+$/.test(node.getAttribute('class')))) {
    node.removeAttribute('class');
  }
});

// nestHeadings moves the headings under root below the heading of level
// parent that holds them: the first becomes at most parent + 1, and none
// skips a level, so the page's outline stays valid whatever was written.
function nestHeadings(root, parent) {
  let last = parent;
  for (const h of Array.from(root.querySelectorAll('h1, h2, h3, h4, h5, h6'))) {
    const level = Math.min(Number(h.tagName[1]) + parent, last + 1, 6);
    last = level;
    if (h.tagName === 'H' + level) continue;
    const n = document.createElement('h' + level);
    n.append(...h.childNodes);
    h.replaceWith(n);
  }
}

// renderAnswer replaces the content of node with the markdown text,
// rendered and sanitised. Its headings sit under the conversation's h2.
function renderAnswer(node, text) {
  const frag = purify.sanitize(answerMarked.parse(text, { async: false }), purifyConfig);
  nestHeadings(frag, 2);
  for (const pre of Array.from(frag.querySelectorAll('pre'))) {
    const code = pre.querySelector('code');
    const lang = code && /^language-(.+)$/.exec(code.className || '');
    const label = lang ? lang[1] : 'text';
    // A scrollable block must be reachable from the keyboard.
    pre.tabIndex = 0;
    pre.setAttribute('aria-label', 'Code, ' + label);
    const block = el('div', { class: 'code-block' },
      el('div', { class: 'code-head' },
        el('span', { class: 'code-lang' }, label),
        el('button', { type: 'button', class: 'copy-code small ghost', 'aria-label': 'Copy the ' + label + ' code' }, 'Copy')));
    pre.replaceWith(block);
    block.append(pre);
  }
  for (const table of Array.from(frag.querySelectorAll('table'))) {
    const wrap = el('div', { class: 'md-table', tabindex: '0', role: 'region', 'aria-label': 'Table' });
    table.replaceWith(wrap);
    wrap.append(table);
  }
  node.replaceChildren(frag);
}

// answerRenderer renders a streaming answer at most once a frame: each
// update re-renders the whole text, so an unfinished table or code block
// takes its final shape as the rest arrives.
function answerRenderer(node) {
  let text = '', pending = 0;
  const draw = () => { pending = 0; renderAnswer(node, text); };
  return {
    update(t) {
      text = t;
      if (!pending) pending = requestAnimationFrame(draw);
    },
    finish(t) {
      text = t;
      if (pending) cancelAnimationFrame(pending);
      draw();
    },
  };
}

// Code blocks are re-rendered while an answer streams, so one listener on
// the document serves every copy button there is or will be.
document.addEventListener('click', async (ev) => {
  const button = ev.target.closest && ev.target.closest('button.copy-code');
  if (!button) return;
  const code = button.closest('.code-block').querySelector('pre');
  copied(button, await copyText(code ? code.textContent : ''));
});
