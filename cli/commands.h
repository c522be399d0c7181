/*
 * commands.h - the subcommands of `vigil`. Each returns the process exit code
 * and prints its own errors to stderr.
 */
#ifndef VIGIL_CLI_COMMANDS_H
#define VIGIL_CLI_COMMANDS_H

int cmd_decode(int argc, char **argv);
int cmd_intel(int argc, char **argv);
int cmd_scan(int argc, char **argv);
int cmd_analyze(int argc, char **argv);
int cmd_devices(int argc, char **argv);
int cmd_alerts(int argc, char **argv);
int cmd_recommendations(int argc, char **argv);

#endif
