/**
 * The Tekken tokenizer (spec §8): regex pre-tokenisation + byte-pair merges; id = rank + numSpecial.
 * Control tokens are never produced from text — only the chat renderer inserts them.
 */
import { BytePairEncoder, textToKey } from './bpe.js';
import { SpecialId } from './special-tokens.js';
import { compileSplitPattern, type SplitPattern } from './split-pattern.js';
import type { ImageTokenSettings, TekkenVocab } from './vocab.js';

export type SpecialTokenPolicy = 'ignore' | 'names';

export class Tokenizer {
  readonly numSpecial: number;
  readonly vocabSize: number;
  readonly bosId = SpecialId.BOS;
  readonly eosId = SpecialId.EOS;
  readonly image: ImageTokenSettings | null;
  readonly source: string;
  private readonly encoder: BytePairEncoder;
  private readonly splitter: SplitPattern;
  private readonly rankBytes: readonly Uint8Array[];
  private readonly specialNames: readonly string[];
  private readonly utf8 = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true });

  constructor(vocab: TekkenVocab) {
    this.numSpecial = vocab.numSpecial;
    this.vocabSize = vocab.numSpecial + vocab.rankBytes.length;
    this.rankBytes = vocab.rankBytes;
    this.specialNames = vocab.specialNames;
    this.image = vocab.image;
    this.source = vocab.source;
    this.encoder = new BytePairEncoder(vocab.rankBytes);
    this.splitter = compileSplitPattern(vocab.pattern);
  }

  /** Token ids of plain text: no BOS/EOS, and text that spells a control token stays ordinary text. */
  encode(text: string): number[] {
    const ranks: number[] = [];
    this.splitter.forEachPiece(text, (piece) => this.encoder.encodeKey(textToKey(piece), ranks));
    for (let i = 0; i < ranks.length; i++) ranks[i]! += this.numSpecial;
    return ranks;
  }

  /** The pre-tokenised pieces of a text (what the regex splits before merging). */
  split(text: string): string[] {
    return this.splitter.split(text);
  }

  isControl(id: number): boolean {
    return id >= 0 && id < this.numSpecial;
  }

  /** Raw bytes of an ordinary token; null for control ids. Throws on ids outside the vocabulary. */
  tokenBytes(id: number): Uint8Array | null {
    this.checkId(id);
    return this.isControl(id) ? null : this.rankBytes[id - this.numSpecial]!;
  }

  specialName(id: number): string {
    this.checkId(id);
    if (!this.isControl(id)) throw new RangeError(`token id ${id} is not a control token`);
    return this.specialNames[id]!;
  }

  /**
   * Text of a list of ids. The bytes of all ordinary ids are joined before UTF-8 decoding (a character may span
   * tokens); invalid UTF-8 becomes U+FFFD, never an exception. Control ids are dropped, or written by name.
   */
  decode(ids: readonly number[], specials: SpecialTokenPolicy = 'ignore'): string {
    let out = '';
    let run: number[] = [];
    for (const id of ids) {
      if (this.isControl(id)) {
        if (specials === 'names') {
          out += this.decodeRun(run) + this.specialName(id);
          run = [];
        }
      } else {
        this.checkId(id);
        run.push(id);
      }
    }
    return out + this.decodeRun(run);
  }

  /** Concatenated bytes of ordinary ids (control ids contribute nothing). */
  bytesOf(ids: readonly number[]): Uint8Array {
    let length = 0;
    for (const id of ids) length += this.tokenBytes(id)?.length ?? 0;
    const out = new Uint8Array(length);
    let at = 0;
    for (const id of ids) {
      const bytes = this.tokenBytes(id);
      if (bytes) {
        out.set(bytes, at);
        at += bytes.length;
      }
    }
    return out;
  }

  private decodeRun(run: number[]): string {
    return run.length === 0 ? '' : this.utf8.decode(this.bytesOf(run));
  }

  private checkId(id: number): void {
    if (!Number.isInteger(id) || id < 0 || id >= this.vocabSize)
      throw new RangeError(`token id ${id} is outside the vocabulary (0..${this.vocabSize - 1})`);
  }
}
