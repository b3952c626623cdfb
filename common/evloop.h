/* evloop.h — the single-threaded event loop each daemon runs: fd handlers (epoll), one-shot timers owned by the
 * caller (no allocation, no dangling handles), and signals delivered as events (signalfd). */
#ifndef NTPMON_EVLOOP_H
#define NTPMON_EVLOOP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define EVLOOP_READ 1u
#define EVLOOP_WRITE 2u
#define EVLOOP_ERROR 4u /* reported only */

struct evloop;
typedef void (*evloop_fd_cb)(struct evloop *loop, int fd, unsigned events, void *arg);
typedef void (*evloop_timer_cb)(struct evloop *loop, void *arg);
typedef void (*evloop_signal_cb)(struct evloop *loop, int signo, void *arg);

/* A timer lives in the caller's memory; initialise it once, then start/stop it any number of times. */
struct evloop_timer {
    int64_t due_us; /* monotonic */
    size_t heap_index; /* SIZE_MAX when not scheduled */
    evloop_timer_cb cb;
    void *arg;
};

struct evloop *evloop_new(void);
void evloop_free(struct evloop *loop);

/* Watches fd for EVLOOP_READ/EVLOOP_WRITE; replaces an existing watch of the same fd. 0 or -1 (errno). */
int evloop_fd_set(struct evloop *loop, int fd, unsigned events, evloop_fd_cb cb, void *arg);
/* Changes the events of a watched fd. */
int evloop_fd_events(struct evloop *loop, int fd, unsigned events);
/* Stops watching fd (safe to call for an fd that is already closed or not watched). */
void evloop_fd_remove(struct evloop *loop, int fd);

void evloop_timer_init(struct evloop_timer *t, evloop_timer_cb cb, void *arg);
/* (Re)schedules t to fire once after delay_us. */
void evloop_timer_start(struct evloop *loop, struct evloop_timer *t, int64_t delay_us);
/* Unschedules t if it is scheduled. */
void evloop_timer_stop(struct evloop *loop, struct evloop_timer *t);
bool evloop_timer_active(const struct evloop_timer *t);

/* Delivers signo as an event (the signal is blocked for the process). Up to 8 signals. */
int evloop_signal(struct evloop *loop, int signo, evloop_signal_cb cb, void *arg);

/* Runs until evloop_stop(); returns 0, or -1 on an epoll failure. */
int evloop_run(struct evloop *loop);
/* Runs one iteration waiting at most max_wait_us (-1: until something happens). */
int evloop_run_once(struct evloop *loop, int64_t max_wait_us);
void evloop_stop(struct evloop *loop);
bool evloop_stopping(const struct evloop *loop);
/* Monotonic µs as of the current iteration (cheap; refreshed after each wait). */
int64_t evloop_now(struct evloop *loop);

#endif
