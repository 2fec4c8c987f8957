// The line format of NUT's network protocol (RFC 9271): words separated by spaces, a word with
// spaces or quotes sent in double quotes with backslash escapes.

/** Split one reply line into words, undoing quotes and backslash escapes. */
export function splitWords(line: string): string[] {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i] as string;
    if (c === '\\' && i + 1 < line.length) {
      word += line[++i];
      inWord = true;
    } else if (c === '"') {
      quoted = !quoted;
      inWord = true;
    } else if (!quoted && (c === ' ' || c === '\t')) {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
    } else {
      word += c;
      inWord = true;
    }
  }
  if (inWord) words.push(word);
  return words;
}

/** One word for a command line: quoted and escaped when it needs to be. */
export function quoteWord(word: string): string {
  if (/[\r\n]/.test(word)) throw new Error(`a NUT protocol word cannot contain a line break: ${JSON.stringify(word)}`);
  if (word.length > 0 && !/[\s"\\]/.test(word)) return word;
  return `"${word.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

export function commandLine(words: readonly string[]): string {
  return `${words.map(quoteWord).join(' ')}\n`;
}
