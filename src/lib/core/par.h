/* A parallel for-loop over work items, for the stages that digest, decode and
 * compare weights. */
#ifndef MLD_PAR_H
#define MLD_PAR_H

#include "common.h"

#include <pthread.h>

/* Run fn(ctx, i) for every i in [0, n), taking the items in order from a shared
 * counter, on up to `threads` threads: the caller's and threads - 1 more (0 means
 * mld__threads()). fn returns 0 or a negative MLD_E* code; the first failure stops
 * the taking of new items and is returned, with its message, on the caller's thread.
 * The extra threads block SIGINT, SIGTERM and SIGHUP, so the cleanup handler of
 * mld_cleanup_on_signals() runs on a thread that is not inside fn. */
int mld__parallel_for(size_t n, unsigned threads, int (*fn)(void *ctx, size_t i), void *ctx);

/* pthread_create with SIGINT, SIGTERM and SIGHUP blocked in the new thread (as above):
 * every thread the library starts goes through here. False if it did not start. */
bool mld__thread_start(pthread_t *th, void *(*fn)(void *), void *arg);

/* One background thread running one job at a time, for work that overlaps the
 * caller's (hashing what the caller writes). Only when there is a spare CPU:
 * mld__worker_new gives NULL on a one-CPU machine (or when the thread does not
 * start), and a caller with no worker does the job itself. */
typedef struct mld__worker mld__worker;
mld__worker *mld__worker_new(void);
/* Start fn(arg) on the worker; the previous job must have been waited for. */
void mld__worker_post(mld__worker *w, void (*fn)(void *arg), void *arg);
/* Until the posted job has run (at once if none is posted). */
void mld__worker_wait(mld__worker *w);
/* Waits for a posted job, ends the thread; NULL-safe. */
void mld__worker_free(mld__worker *w);

#endif
