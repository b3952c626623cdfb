/* random.h — bytes from the kernel's CSPRNG for ids and nonces: getrandom(2) (interruptions retried), else
 * /dev/urandom (getrandom can be missing or blocked by a seccomp filter); never a weaker source. */
#ifndef NTPMON_RANDOM_H
#define NTPMON_RANDOM_H

#include <stddef.h>

/* Fills buf with len random bytes: 0, or -1 with errno when neither source gives them (then buf is unusable). */
int random_fill(void *buf, size_t len);

#endif
