/**
 * The playground page: a conversation with the served model through its public API. State is the list of
 * turns plus the images waiting to be sent; the DOM is written with textContent only (answers are text, never
 * markup).
 */
import { ApiFailure, loadConfig, streamChat, type Answer, type PlaygroundConfig } from './api.js';
import { droppedFiles, IMAGE_TYPES, readImage } from './images.js';
import { storedKey, storeKey } from './key-store.js';
import {
  buildRequest,
  costUsd,
  SettingsError,
  type AnswerFormat,
  type Attachment,
  type Settings,
  type Turn,
} from './request.js';
import { snippet, type SnippetKind } from './snippets.js';

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

const ui = {
  modelName: $('model-name'),
  newChat: $<HTMLButtonElement>('new-chat'),
  log: $<HTMLOListElement>('log'),
  empty: $('empty'),
  error: $('error'),
  composer: $<HTMLFormElement>('composer'),
  attachments: $<HTMLUListElement>('attachments'),
  prompt: $<HTMLTextAreaElement>('prompt'),
  attach: $<HTMLButtonElement>('attach'),
  fileInput: $<HTMLInputElement>('file-input'),
  pendingCost: $('pending-cost'),
  stop: $<HTMLButtonElement>('stop'),
  send: $<HTMLButtonElement>('send'),
  usage: $('usage'),
  status: $('status'),
  keyGroup: $('key-group'),
  apiKey: $<HTMLInputElement>('api-key'),
  rememberKey: $<HTMLInputElement>('remember-key'),
  system: $<HTMLTextAreaElement>('system'),
  temperature: $<HTMLInputElement>('temperature'),
  topP: $<HTMLInputElement>('top-p'),
  maxTokens: $<HTMLInputElement>('max-tokens'),
  schema: $<HTMLTextAreaElement>('schema'),
  snippet: $<HTMLTextAreaElement>('snippet'),
  snippetStatus: $('snippet-status'),
};

let config: PlaygroundConfig = {
  model: 'pixtral',
  auth: true,
  prices: { inputPerMillion: 0, outputPerMillion: 0 },
  image: { patchSize: 16, maxImageSize: 1024 },
  maxImageBytes: 20 * 1024 * 1024,
};
let turns: Turn[] = [];
let pending: Attachment[] = [];
let running: AbortController | null = null;
/** Bumped by New chat: an answer that finishes after it belongs to a conversation that is gone. */
let conversationId = 0;

function settings(): Settings {
  const format = (document.querySelector('input[name="format"]:checked') as HTMLInputElement).value;
  return {
    model: config.model,
    system: ui.system.value,
    temperature: ui.temperature.valueAsNumber,
    topP: ui.topP.valueAsNumber,
    maxTokens: ui.maxTokens.valueAsNumber,
    format: format as AnswerFormat,
    schema: ui.schema.value,
  };
}

function showError(message: string | null): void {
  ui.error.hidden = message === null;
  ui.error.textContent = message ?? '';
}

function formatBytes(bytes: number): string {
  return bytes >= 1 << 20 ? `${(bytes / (1 << 20)).toFixed(1)} MB` : `${Math.round(bytes / 1024)} KB`;
}

function plural(n: number, word: string): string {
  return `${n.toLocaleString('en')} ${word}${n === 1 ? '' : 's'}`;
}

// ---- the conversation ---------------------------------------------------------------------------------------

function messageItem(turn: Turn): { item: HTMLLIElement; text: HTMLPreElement; meta: HTMLParagraphElement } {
  const item = document.createElement('li');
  item.className = `message ${turn.role}`;
  const role = document.createElement('p');
  role.className = 'role';
  role.textContent = turn.role === 'user' ? 'You' : config.model;
  item.append(role);
  if (turn.images.length > 0) {
    const images = document.createElement('div');
    images.className = 'images';
    for (const image of turn.images) {
      const img = document.createElement('img');
      img.src = image.dataUrl;
      img.alt = image.name;
      images.append(img);
    }
    item.append(images);
  }
  const text = document.createElement('pre');
  text.className = 'text';
  text.textContent = turn.text;
  const meta = document.createElement('p');
  meta.className = 'meta';
  item.append(text, meta);
  ui.log.append(item);
  ui.empty.hidden = true;
  return { item, text, meta };
}

function describeAnswer(answer: Answer, stopped: boolean): string {
  const parts: string[] = [];
  if (answer.usage) {
    const { promptTokens, completionTokens, cachedTokens } = answer.usage;
    const cached = cachedTokens > 0 ? ` (${cachedTokens} cached)` : '';
    parts.push(
      `${plural(promptTokens, 'prompt token')}${cached} + ${plural(completionTokens, 'completion token')}`,
    );
    parts.push(`$${costUsd(answer.usage, config.prices).toFixed(6)}`);
  }
  if (answer.tokensPerSecond !== null) parts.push(`${answer.tokensPerSecond.toFixed(1)} tokens/s`);
  if (stopped) parts.push('stopped');
  else if (answer.finishReason === 'length') parts.push('cut at max tokens');
  return parts.join(' · ');
}

async function send(): Promise<void> {
  if (running) return;
  const text = ui.prompt.value.trim();
  if (!text && pending.length === 0) {
    showError('Write a message or attach an image first.');
    return;
  }
  const userTurn: Turn = { role: 'user', text, images: pending };
  let body;
  try {
    body = buildRequest(settings(), [...turns, userTurn], true);
  } catch (err) {
    if (err instanceof SettingsError) return showError(err.message);
    throw err;
  }
  showError(null);
  rememberKey();
  // The composer is free for the next message while this one is answered; a refusal gives it back.
  ui.prompt.value = '';
  pending = [];
  renderAttachments();

  const userView = messageItem(userTurn);
  const answerView = messageItem({ role: 'assistant', text: '', images: [] });
  answerView.item.setAttribute('aria-busy', 'true');
  const controller = new AbortController();
  const conversation = conversationId;
  running = controller;
  setRunning(true);
  const partial: Answer = { text: '', usage: null, finishReason: null, tokensPerSecond: null };
  let summary: string;
  try {
    const answer = await streamChat(body, ui.apiKey.value.trim(), controller.signal, (delta) => {
      partial.text += delta;
      answerView.text.textContent = partial.text;
    });
    summary = describeAnswer(answer, false);
    keep(conversation, userTurn, answer.text);
  } catch (err) {
    if (conversation !== conversationId) return; // New chat already cleared it all
    if (!controller.signal.aborted) {
      // Refused or failed: nothing is lost, the message and its images go back to the composer to try again.
      userView.item.remove();
      answerView.item.remove();
      ui.empty.hidden = ui.log.children.length > 0;
      if (!ui.prompt.value) ui.prompt.value = userTurn.text;
      pending = [...userTurn.images, ...pending];
      renderAttachments();
      showError(err instanceof ApiFailure ? err.message : `Something went wrong: ${(err as Error).message}`);
      if (err instanceof ApiFailure && err.status === 401) ui.apiKey.focus();
      return;
    }
    // Stopped: what arrived stays, and the exchange joins the conversation as it stands.
    summary = describeAnswer(partial, true);
    keep(conversation, userTurn, partial.text);
  } finally {
    answerView.item.removeAttribute('aria-busy');
    if (running === controller) {
      running = null;
      setRunning(false);
    }
  }
  if (conversation !== conversationId) return;
  if (!partial.text) answerView.text.textContent = '(no text)';
  answerView.meta.textContent = summary;
  ui.usage.textContent = summary ? `Last answer: ${summary}` : '';
  ui.status.textContent = `${config.model} answered: ${partial.text || 'nothing'}`;
}

/**
 * Adds an exchange to the conversation the next request carries. An empty answer (stopped before its first
 * token) is left out with its question: the API takes no assistant message without content.
 */
function keep(conversation: number, question: Turn, answer: string): void {
  if (conversation !== conversationId || !answer) return;
  turns = [...turns, question, { role: 'assistant', text: answer, images: [] }];
}

function setRunning(on: boolean): void {
  ui.send.disabled = on;
  ui.stop.disabled = !on;
  if (!on && (document.activeElement === ui.stop || document.activeElement === document.body))
    ui.prompt.focus();
}

function newChat(): void {
  conversationId++;
  running?.abort();
  running = null;
  setRunning(false);
  turns = [];
  pending = [];
  ui.log.replaceChildren();
  ui.empty.hidden = false;
  ui.usage.textContent = '';
  showError(null);
  renderAttachments();
  ui.prompt.focus();
}

// ---- images waiting to be sent --------------------------------------------------------------------------------

async function attach(files: File[]): Promise<void> {
  if (files.length === 0) return;
  if (!config.image) return showError(`${config.model} does not take images.`);
  try {
    for (const file of files) pending = [...pending, await readImage(file, config.image)];
    showError(null);
  } catch (err) {
    showError((err as Error).message);
  }
  renderAttachments();
}

function renderAttachments(): void {
  ui.attachments.replaceChildren(
    ...pending.map((image, index) => {
      const item = document.createElement('li');
      const img = document.createElement('img');
      img.src = image.dataUrl;
      img.alt = image.name;
      const cost = document.createElement('span');
      cost.className = 'cost';
      cost.textContent =
        image.tokens === null ? `${image.width}×${image.height}` : plural(image.tokens, 'token');
      if (image.bytes > config.maxImageBytes) {
        // Still sendable: the server is the judge, and says why it refuses.
        cost.textContent += ` · over the server's ${formatBytes(config.maxImageBytes)} limit`;
        cost.classList.add('warning');
      }
      const remove = document.createElement('button');
      remove.type = 'button';
      remove.className = 'remove';
      remove.textContent = '×';
      remove.setAttribute('aria-label', `Remove ${image.name}`);
      remove.addEventListener('click', () => {
        pending = pending.filter((_, i) => i !== index);
        renderAttachments();
        ui.prompt.focus();
      });
      item.append(img, cost, remove);
      return item;
    }),
  );
  const tokens = pending.reduce((sum, image) => sum + (image.tokens ?? 0), 0);
  ui.pendingCost.textContent =
    pending.length === 0 ? '' : `${plural(pending.length, 'image')}: ${plural(tokens, 'prompt token')}`;
}

// ---- code for the current request -----------------------------------------------------------------------------

async function copySnippet(kind: SnippetKind): Promise<void> {
  let code: string;
  try {
    // The message being written, or else the request that produced the last answer.
    const text = ui.prompt.value.trim();
    const draft: Turn[] = text || pending.length > 0 ? [{ role: 'user', text, images: pending }] : [];
    const request = draft.length > 0 ? [...turns, ...draft] : turns.slice(0, -1);
    if (request.length === 0) return showError('Write a message first: the code sends it.');
    code = snippet(kind, buildRequest(settings(), request, false), location.origin, config.auth);
  } catch (err) {
    if (err instanceof SettingsError) return showError(err.message);
    throw err;
  }
  ui.snippet.hidden = false;
  ui.snippet.value = code;
  try {
    await navigator.clipboard.writeText(code);
    ui.snippetStatus.textContent = `Copied the ${kind} code${config.auth ? ' (set PIXTRAL_API_KEY to run it)' : ''}.`;
  } catch {
    ui.snippet.select();
    ui.snippetStatus.textContent = 'Select the code above and copy it (the clipboard is not available here).';
  }
}

// ---- wiring ---------------------------------------------------------------------------------------------------

function wire(): void {
  ui.composer.addEventListener('submit', (event) => {
    event.preventDefault();
    void send();
  });
  ui.prompt.addEventListener('keydown', (event) => {
    if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      ui.composer.requestSubmit();
    } else if (event.key === 'Escape' && running) {
      event.preventDefault();
      running.abort();
    }
  });
  ui.stop.addEventListener('click', () => running?.abort());
  ui.newChat.addEventListener('click', newChat);
  ui.attach.addEventListener('click', () => ui.fileInput.click());
  ui.fileInput.accept = IMAGE_TYPES.join(',');
  ui.fileInput.addEventListener('change', () => {
    void attach(droppedFiles(ui.fileInput.files)).then(() => (ui.fileInput.value = ''));
  });
  ui.prompt.addEventListener('paste', (event) => {
    const files = droppedFiles(event.clipboardData?.files);
    if (files.length > 0) {
      event.preventDefault();
      void attach(files);
    }
  });
  // The whole page takes dropped images (a drop the page ignored would open the file and lose the chat).
  let dragDepth = 0;
  document.addEventListener('dragenter', (event) => {
    event.preventDefault();
    if (dragDepth++ === 0) ui.composer.classList.add('dragging');
  });
  document.addEventListener('dragleave', () => {
    if (--dragDepth <= 0) {
      dragDepth = 0;
      ui.composer.classList.remove('dragging');
    }
  });
  document.addEventListener('dragover', (event) => event.preventDefault());
  document.addEventListener('drop', (event) => {
    event.preventDefault();
    dragDepth = 0;
    ui.composer.classList.remove('dragging');
    void attach(droppedFiles(event.dataTransfer?.files));
  });
  for (const radio of document.querySelectorAll<HTMLInputElement>('input[name="format"]'))
    radio.addEventListener('change', () => (ui.schema.hidden = settings().format !== 'json_schema'));
  for (const button of document.querySelectorAll<HTMLButtonElement>('button[data-snippet]'))
    button.addEventListener('click', () => void copySnippet(button.dataset.snippet as SnippetKind));
  ui.rememberKey.addEventListener('change', rememberKey);
}

function rememberKey(): void {
  try {
    storeKey(ui.apiKey.value.trim(), ui.rememberKey.checked);
  } catch {
    // storage turned off: the key lives in the field only
  }
}

async function start(): Promise<void> {
  wire();
  try {
    config = await loadConfig();
  } catch (err) {
    showError((err as Error).message);
  }
  ui.modelName.textContent = config.model;
  ui.keyGroup.hidden = !config.auth;
  try {
    const { key, remembered } = storedKey();
    ui.apiKey.value = key;
    ui.rememberKey.checked = remembered;
  } catch {
    // storage turned off: the key lives in the field only
  }
  ui.attach.disabled = config.image === null;
  ui.prompt.focus();
}

void start();
