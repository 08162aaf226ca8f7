#!/usr/bin/env node
// The `chameleon` command line. Each module registers its subcommands the same way (a register
// function over one commander program, options from options.ts); each subcommand is a thin adapter
// over the library: parse, run with progress on stderr, print (human text, or JSON with --json).
// Errors the user can fix, commander's usage errors included, are one `chameleon:` line, exit code 2.

import { Command } from 'commander';
import { registerChatCommand } from './chat-command.js';
import { registerDataCommands } from './data-command.js';
import { registerDemoCommands } from './demo-command.js';
import { registerDoctorCommands } from './doctor.js';
import { registerEvalEmoji, registerWorldEmoji } from './emoji-commands.js';
import { evalGroup, registerEvalShapes } from './eval-command.js';
import { registerGenerateCommand } from './generate-command.js';
import { registerImageCommands } from './image-commands.js';
import { registerLabCommands } from './lab-command.js';
import { registerModelCommands } from './model-commands.js';
import { configureProgram, reportError } from './options.js';
import { registerPlotCommand } from './plot-command.js';
import { registerServeCommand, registerStartCommand } from './serve-command.js';
import { registerTextCommands } from './text-commands.js';
import { registerTrainLmCommands } from './train-lm-command.js';
import { registerWorldShapes, worldGroup } from './world-command.js';

const program = configureProgram(new Command());
program.name('chameleon').description('Chameleon mixed-modal models in TypeScript: engine, model, tokenizers, generation').version('0.1.0');

registerDoctorCommands(program);
registerModelCommands(program);
registerGenerateCommand(program);
registerChatCommand(program);
registerServeCommand(program);
registerStartCommand(program);
registerImageCommands(program);
registerTextCommands(program);
registerPlotCommand(program);
registerTrainLmCommands(program);
registerLabCommands(program);
registerDataCommands(program);
registerDemoCommands(program);
registerWorldShapes(worldGroup(program));
registerWorldEmoji(worldGroup(program));
registerEvalShapes(evalGroup(program));
registerEvalEmoji(evalGroup(program));

program.parseAsync(process.argv).catch((err: unknown) => {
  process.exit(reportError(err));
});
