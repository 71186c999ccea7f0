/*
 * Port files: a daemon bound to port 0 publishes the port it got, so tests
 * and scripts never guess ports. The file appears atomically (temporary
 * file + rename), so a reader that sees it sees the whole number.
 */
#ifndef KASSABOEK_PORTFILE_H
#define KASSABOEK_PORTFILE_H

/* Writes "<port>\n" to path; 0 or -1 with errno set. */
int	kb_write_port_file(const char *path, int port);

#endif
