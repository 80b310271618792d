import { MetaTag } from '@talos-ts/machinery';
import type { MetaStore } from '../meta/store.ts';

/** A staged upgrade as kept in META between the API call and the next boot. */
export interface StagedUpgrade {
  /** The installer image reference (here an image directory URL). */
  readonly image: string;
  /** Upstream's UpgradeRequest options that the install at boot needs. */
  readonly options: StagedUpgradeOptions;
}

/** The install options of a staged upgrade (kept as JSON in META, as upstream keeps its install.Options). */
export interface StagedUpgradeOptions {
  readonly preserve: boolean;
  readonly force: boolean;
}

/**
 * Stages an upgrade as upstream's `upgrade --stage` does: the image reference and the install
 * options go into META (tags 7 and 8); the node then reboots and installs them before it boots.
 */
export function stageUpgrade(meta: MetaStore, staged: StagedUpgrade): void {
  meta.write(MetaTag.StagedUpgradeImageRef, staged.image);
  meta.write(MetaTag.StagedUpgradeInstallOptions, JSON.stringify(staged.options));
}

/**
 * At boot: the staged upgrade, if META holds both tags, which are removed before it runs (as
 * upstream's META probe does) so a staged upgrade that fails cannot make the node loop; when the
 * removal cannot be written, nothing is run for the same reason.
 */
export function takeStagedUpgrade(meta: MetaStore): StagedUpgrade | undefined {
  const image = meta.read(MetaTag.StagedUpgradeImageRef);
  const options = meta.read(MetaTag.StagedUpgradeInstallOptions);
  if (image === undefined || options === undefined) return undefined;
  meta.clear([MetaTag.StagedUpgradeImageRef, MetaTag.StagedUpgradeInstallOptions]);
  let parsed: Partial<StagedUpgradeOptions> = {};
  try {
    parsed = JSON.parse(options) as Partial<StagedUpgradeOptions>;
  } catch {
    // Options written by another tool: the defaults of an upgrade apply.
  }
  return { image, options: { preserve: parsed.preserve === true, force: parsed.force === true } };
}
