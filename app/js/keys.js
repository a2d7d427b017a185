// keys — the API key dialog and the "this server needs a key" banner.

import { apiKey, apiKeyScheme, setApiKey } from './api.js';
import { announce, h } from './dom.js';

export function setupKeys() {
  const button = document.getElementById('key-button');
  const state = document.getElementById('key-state');
  const dialog = document.getElementById('key-dialog');
  const form = document.getElementById('key-form');
  const input = document.getElementById('key-input');
  const banner = document.getElementById('banner');

  const show = () => {
    state.textContent = apiKey() ? 'set' : 'none';
  };
  const open = () => {
    input.value = apiKey();
    form.elements.scheme.value = apiKeyScheme();
    dialog.showModal();
    input.focus();
  };
  button.addEventListener('click', open);
  dialog.addEventListener('close', () => {
    const choice = dialog.returnValue;
    dialog.returnValue = '';
    if (choice === 'save' && input.value.trim()) {
      setApiKey(input.value.trim(), form.elements.scheme.value);
      announce('API key saved for this tab');
    } else if (choice === 'forget' || (choice === 'save' && !input.value.trim())) {
      setApiKey('', '');
      announce('API key forgotten');
    }
    input.value = '';
    button.focus();
  });
  window.addEventListener('api:key-changed', () => {
    show();
    banner.hidden = true;
  });
  window.addEventListener('api:unauthorized', (ev) => {
    if (!banner.hidden)
      return;
    const refused = apiKey() ? 'The server refused the API key of this tab' : 'This server needs an API key';
    banner.replaceChildren(
      h('span', {}, `${refused}: ${ev.detail.message} `),
      h('button', { type: 'button', onclick: open }, 'Enter an API key'));
    banner.hidden = false;
  });
  show();
  return { open };
}
