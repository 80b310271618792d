import type { Rule } from 'eslint';
/** The plugin object ESLint loads. */
export declare const talosPlugin: { rules: { layering: Rule.RuleModule; 'no-default-export': Rule.RuleModule } };
export declare const allowedDeps: Record<string, string[]>;
export declare const hostPlaces: Record<string, string[]>;
