#include "par.h"

#include "cpu.h"

#include <pthread.h>
#include <signal.h>
#include <stdlib.h>

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

struct mld__worker {
	pthread_t th;
	pthread_mutex_t mu;
	pthread_cond_t cv; /* a job posted, a job done, or quit */
	void (*fn)(void *arg);
	void *arg;
	bool busy, quit;
};

static void *work(void *arg)
{
	mld__worker *w = arg;
	pthread_mutex_lock(&w->mu);
	for (;;) {
		while (!w->busy && !w->quit)
			pthread_cond_wait(&w->cv, &w->mu);
		if (!w->busy)
			break;
		pthread_mutex_unlock(&w->mu);
		w->fn(w->arg);
		pthread_mutex_lock(&w->mu);
		w->busy = false;
		pthread_cond_broadcast(&w->cv);
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

mld__worker *mld__worker_new(void)
{
	if (mld__threads() < 2)
		return NULL;
	mld__worker *w = calloc(1, sizeof *w);
	if (!w)
		return NULL;
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cv, NULL);
	if (!mld__thread_start(&w->th, work, w)) {
		pthread_cond_destroy(&w->cv);
		pthread_mutex_destroy(&w->mu);
		free(w);
		return NULL;
	}
	return w;
}

void mld__worker_post(mld__worker *w, void (*fn)(void *arg), void *arg)
{
	pthread_mutex_lock(&w->mu);
	w->fn = fn;
	w->arg = arg;
	w->busy = true;
	pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->mu);
}

void mld__worker_wait(mld__worker *w)
{
	pthread_mutex_lock(&w->mu);
	while (w->busy)
		pthread_cond_wait(&w->cv, &w->mu);
	pthread_mutex_unlock(&w->mu);
}

void mld__worker_free(mld__worker *w)
{
	if (!w)
		return;
	pthread_mutex_lock(&w->mu);
	while (w->busy)
		pthread_cond_wait(&w->cv, &w->mu);
	w->quit = true;
	pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->mu);
	pthread_join(w->th, NULL);
	pthread_cond_destroy(&w->cv);
	pthread_mutex_destroy(&w->mu);
	free(w);
}
