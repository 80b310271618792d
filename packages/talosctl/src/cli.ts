import type { Command } from 'commander';

/** Where a command writes; tests pass buffers instead of the process streams. */
export interface CliIo {
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
}

/** A user-facing CLI failure: printed as one line, exit code 1. */
export class CliError extends Error {
  readonly exitCode: number;
  constructor(message: string, exitCode = 1) {
    super(message);
    this.name = 'CliError';
    this.exitCode = exitCode;
  }
}

/** Registers one command (or group) on its parent. Every file under commands/ exports one of these. */
export type CommandRegistrar = (parent: Command, io: CliIo) => void;
