/** The two boot slots; upstream's GRUB labels. */
export type BootSlot = 'A' | 'B';

/** Size of a GRUB environment block file (grubenv): fixed, so GRUB can rewrite it in place. */
export const GRUBENV_BYTES = 1024;
const GRUBENV_HEADER = '# GRUB Environment Block\n';

/** GRUB's prefix on an installed disk: the third GPT partition (BOOT), directory /grub. */
export const GRUB_PREFIX = '(hd0,gpt3)/grub';

/**
 * Modules built into core.img, so GRUB needs no module directory on BOOT: disk and partition
 * access, XFS (BOOT), the config language, the Linux loader, the environment block and the serial
 * console (VMs and servers without a screen).
 */
export const GRUB_CORE_MODULES = [
  'biosdisk', 'part_gpt', 'part_msdos', 'xfs', 'normal', 'configfile', 'linux', 'boot', 'loadenv', 'test',
  'echo', 'search', 'search_label', 'reboot', 'halt', 'serial', 'terminal', 'cat', 'ls',
] as const;

/** Encodes a grubenv: the header, `key=value` lines, padded with `#` to {@link GRUBENV_BYTES}. */
export function encodeGrubEnv(vars: Readonly<Record<string, string>>): Buffer {
  let text = GRUBENV_HEADER;
  for (const [k, v] of Object.entries(vars)) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) throw new RangeError(`grubenv: bad variable name ${JSON.stringify(k)}`);
    // GRUB escapes these; our values never need them, so refuse rather than escape.
    if (/[\n\\]/.test(v)) throw new RangeError(`grubenv: value of ${k} has a newline or backslash`);
    text += `${k}=${v}\n`;
  }
  const body = Buffer.from(text, 'utf8');
  if (body.length > GRUBENV_BYTES) throw new RangeError(`grubenv: ${body.length} bytes, at most ${GRUBENV_BYTES}`);
  return Buffer.concat([body, Buffer.alloc(GRUBENV_BYTES - body.length, '#')]);
}

/** Decodes a grubenv block into its variables; an error when the header or size is wrong. */
export function decodeGrubEnv(bytes: Uint8Array): { value: Record<string, string> } | { error: string } {
  if (bytes.length !== GRUBENV_BYTES) return { error: `grubenv is ${bytes.length} bytes, expected ${GRUBENV_BYTES}` };
  const text = Buffer.from(bytes).toString('utf8');
  if (!text.startsWith(GRUBENV_HEADER)) return { error: 'grubenv has no GRUB environment header' };
  const vars: Record<string, string> = {};
  for (const line of text.slice(GRUBENV_HEADER.length).split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const eq = line.indexOf('=');
    if (eq > 0) vars[line.slice(0, eq)] = line.slice(eq + 1);
  }
  return { value: vars };
}

/**
 * The boot choice kept in grubenv. `default` is the slot that boots normally; `next_entry` names a
 * slot to try once (GRUB clears it before booting it), so a new slot that fails to come up sends
 * the next boot back to `default` with no one acting. The node makes a slot `default` only after
 * it booted well from it.
 */
export interface BootChoice {
  readonly defaultSlot: BootSlot;
  readonly nextSlot?: BootSlot;
  /**
   * An upgrade written and not yet confirmed: the slot tried and the version in it. GRUB leaves it
   * alone (it only clears `next_entry`), so the next machined to come up knows whether that try
   * booted (it runs from this slot) or not (it runs from the other: the try failed).
   */
  readonly pending?: { readonly slot: BootSlot; readonly version: string };
}

/** grubenv variables of a {@link BootChoice}. */
export function bootChoiceEnv(choice: BootChoice): Record<string, string> {
  return {
    default: choice.defaultSlot,
    next_entry: choice.nextSlot ?? '',
    ...(choice.pending ? { talos_pending_slot: choice.pending.slot, talos_pending_version: choice.pending.version } : {}),
  };
}

/** The {@link BootChoice} in grubenv variables; default A when unset or unknown. */
export function bootChoiceFromEnv(vars: Readonly<Record<string, string>>): BootChoice {
  const slot = (v: string | undefined): BootSlot | undefined => (v === 'A' || v === 'B' ? v : undefined);
  const next = slot(vars.next_entry);
  const pending = slot(vars.talos_pending_slot);
  return {
    defaultSlot: slot(vars.default) ?? 'A',
    ...(next ? { nextSlot: next } : {}),
    ...(pending ? { pending: { slot: pending, version: vars.talos_pending_version ?? '' } } : {}),
  };
}

/** Quotes one kernel argument for a GRUB script when it holds anything beyond plain characters. */
export function grubQuote(arg: string): string {
  return /^[A-Za-z0-9._:=,/@+-]+$/.test(arg) ? arg : `'${arg.replaceAll("'", "'\\''")}'`;
}

/** Options of {@link grubConfig}. */
export interface GrubConfigOptions {
  /** Kernel arguments of each slot (a slot may carry a different image's arguments). */
  readonly cmdline: Readonly<Record<BootSlot, readonly string[]>>;
  /** Menu title prefix (e.g. the OS name and version). */
  readonly title?: string;
  readonly timeoutSeconds?: number;
}

/** Paths of a slot's files on BOOT (the grub.cfg refers to them; the installer writes them). */
export function slotFiles(slot: BootSlot): { kernel: string; initramfs: string; rootfs: string } {
  return { kernel: `/${slot}/vmlinuz`, initramfs: `/${slot}/initramfs.img`, rootfs: `/${slot}/rootfs.cpio` };
}

/**
 * The kernel arguments of each slot in a grub.cfg written by {@link grubConfig} (without the
 * `talos.slot=` it adds); a slot whose entry is missing is absent.
 */
export function grubConfigCmdlines(text: string): Partial<Record<BootSlot, string[]>> {
  const out: Partial<Record<BootSlot, string[]>> = {};
  for (const m of text.matchAll(/^\s*linux \/(A|B)\/vmlinuz(.*)$/gm)) {
    const args: string[] = [];
    // Words are plain or single-quoted with '\'' for a quote, as grubQuote writes them.
    for (const w of (m[2] ?? '').matchAll(/(?:'(?:[^']|'\\'')*'|[^\s'])+/g)) {
      args.push(w[0].replace(/'((?:[^']|'\\'')*)'/g, (_q, inner: string) => inner.replaceAll("'\\''", "'")));
    }
    out[m[1] as BootSlot] = args.filter((a) => !a.startsWith('talos.slot='));
  }
  return out;
}

/**
 * grub.cfg for two slots. It reads grubenv, and when `next_entry` is set it clears and saves it
 * before booting that slot, so the try happens once, with the permanent slot as GRUB's fallback.
 * Output goes to the serial port and the screen.
 */
export function grubConfig(options: GrubConfigOptions): string {
  const title = options.title ?? 'Talos-TS';
  const lines = [
    'serial --unit=0 --speed=115200',
    'terminal_input serial console',
    'terminal_output serial console',
    `set timeout=${options.timeoutSeconds ?? 1}`,
    'set default=A',
    'load_env',
    // When the one-shot slot cannot even be loaded (files missing), GRUB boots the permanent one.
    'set fallback="${default}"',
    'if [ -n "${next_entry}" ]; then',
    '  set default="${next_entry}"',
    '  set next_entry=',
    '  save_env next_entry',
    '  echo "Talos-TS: trying slot ${default} once"',
    'fi',
    '',
  ];
  for (const slot of ['A', 'B'] as const) {
    const f = slotFiles(slot);
    lines.push(
      `menuentry "${title} (${slot})" --id ${slot} {`,
      `  linux ${f.kernel} ${[...options.cmdline[slot], `talos.slot=${slot}`].map(grubQuote).join(' ')}`,
      // The uncompressed root archive goes first: the kernel finds the compressed one after its trailer,
      // while a legacy-lz4 initramfs has no end marker and would swallow whatever follows it.
      `  initrd ${f.rootfs} ${f.initramfs}`,
      '}',
    );
  }
  return `${lines.join('\n')}\n`;
}
