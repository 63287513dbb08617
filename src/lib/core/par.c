#include "par.h"

#include "cpu.h"

#include <pthread.h>
#include <signal.h>

typedef struct par {
	size_t n, next;
	int (*fn)(void *ctx, size_t i);
	void *ctx;
	int rc;
	char err[1024];
	pthread_mutex_t mu;
} par;

static void *run(void *arg)
{
	par *p = arg;
	for (;;) {
		pthread_mutex_lock(&p->mu);
		size_t i = p->next++;
		bool stop = p->rc != 0 || i >= p->n;
		pthread_mutex_unlock(&p->mu);
		if (stop)
			return NULL;
		int rc = p->fn(p->ctx, i);
		if (rc) {
			pthread_mutex_lock(&p->mu);
			if (!p->rc) {
				p->rc = rc;
				snprintf(p->err, sizeof p->err, "%s", mld_error_last());
			}
			pthread_mutex_unlock(&p->mu);
		}
	}
}

bool mld__thread_start(pthread_t *th, void *(*fn)(void *), void *arg)
{
	sigset_t block, old;
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &block, &old);
	bool started = pthread_create(th, NULL, fn, arg) == 0;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return started;
}

int mld__parallel_for(size_t n, unsigned threads, int (*fn)(void *ctx, size_t i), void *ctx)
{
	par p = {.n = n, .fn = fn, .ctx = ctx};
	if (!threads)
		threads = mld__threads();
	if (threads > n)
		threads = n ? (unsigned)n : 1;
	if (threads > 64)
		threads = 64;
	pthread_mutex_init(&p.mu, NULL);
	pthread_t th[64];
	unsigned started = 0;
	for (unsigned k = 1; k < threads; k++)
		if (mld__thread_start(&th[started], run, &p))
			started++;
	run(&p); /* the caller works too: with no thread started, everything runs here */
	for (unsigned k = 0; k < started; k++)
		pthread_join(th[k], NULL);
	pthread_mutex_destroy(&p.mu);
	if (p.rc)
		return mld__err(p.rc, "%s", p.err);
	return 0;
}
