/** Fixture repositories for the local hub, made from the shared tiny-pixtral files. */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fixturePath } from './fixtures.js';
import type { HubFile } from './local-hub.js';
import { scratchDir } from './scratch.js';

const GITATTRIBUTES =
  '*.safetensors filter=lfs diff=lfs merge=lfs -text\n*.gguf filter=lfs diff=lfs merge=lfs -text\n';

function text(path: string, content: string): HubFile {
  return { path, bytes: Buffer.from(content), lfs: false };
}

function fromFixture(path: string, ...fixture: string[]): HubFile {
  return { path, bytes: readFileSync(fixturePath(...fixture)), lfs: path.endsWith('.safetensors') };
}

/** The Mistral layout, as mistralai/Pixtral-12B-2409 ships it: params.json + consolidated.safetensors + tekken.json. */
export function mistralLayoutFiles(): HubFile[] {
  return [
    text('.gitattributes', GITATTRIBUTES),
    text('README.md', '# tiny-pixtral\n\nA tiny random Pixtral for tests.\n'),
    fromFixture('params.json', 'model-consolidated', 'params.json'),
    fromFixture('consolidated.safetensors', 'model-consolidated', 'consolidated.safetensors'),
    fromFixture('tekken.json', 'tokenizer', 'tekken.json'),
  ];
}

/** The Hugging Face layout (as mistral-community/pixtral-12b): config.json, sharded safetensors, tokenizer.json. */
export function hfLayoutFiles(): HubFile[] {
  return readdirSync(fixturePath('model-hf')).map((name) => fromFixture(name, 'model-hf', name));
}

/** A repo holding both layouts, where the Mistral one must win. */
export function bothLayoutsFiles(): HubFile[] {
  return [...mistralLayoutFiles(), ...hfLayoutFiles()];
}

/** A GGUF repo: several quantizations and the vision projector (bytes are placeholders: only names matter). */
export function ggufFiles(): HubFile[] {
  const gguf = (path: string) => ({ path, bytes: Buffer.from(`GGUF ${path}`), lfs: true });
  return [
    text('.gitattributes', GITATTRIBUTES),
    gguf('pixtral-12b-Q4_K_M.gguf'),
    gguf('pixtral-12b-Q8_0.gguf'),
    gguf('mmproj-pixtral-12b-f16.gguf'),
  ];
}

/**
 * A user's environment with every store in fresh temporary folders, pointed at a (local) hub. The folders go
 * after the test file's last test.
 */
export function freshHubEnv(hubUrl: string, extra: Record<string, string> = {}): Record<string, string> {
  const root = scratchDir('pixtral-hub-env-');
  return {
    HF_ENDPOINT: hubUrl,
    HF_HOME: join(root, 'hf-home'),
    HF_HUB_CACHE: join(root, 'hub'),
    HF_TOKEN: '',
    PIXTRAL_HOME: join(root, 'pixtral'),
    ...extra,
  };
}
