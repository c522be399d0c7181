/*
 * commands.h - the subcommands of `vigil`. Each returns the process exit code
 * and prints its own errors to stderr.
 */
#ifndef VIGIL_CLI_COMMANDS_H
#define VIGIL_CLI_COMMANDS_H

int cmd_decode(int argc, char **argv);
int cmd_intel(int argc, char **argv);

#endif
