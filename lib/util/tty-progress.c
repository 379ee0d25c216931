/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "util/time-util.h"
#include "util/tty-progress.h"

/* Redrawn this often: the clock shows whole seconds. */
#define KP_TTY_PROGRESS_TICK_USEC USEC_PER_SEC
/* The text kept; a line longer than the terminal is cut to its width anyway. */
#define KP_TTY_PROGRESS_TEXT_MAX 256
/* A terminal that says nothing of its width is taken to have this many columns. */
#define KP_TTY_PROGRESS_DEFAULT_COLUMNS 80

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wake = PTHREAD_COND_INITIALIZER;
static pthread_t ticker;
static bool active, stopping, drawn;
static uint64_t started;
static char text[KP_TTY_PROGRESS_TEXT_MAX];

static bool stderr_is_terminal(void)
{
        const char *term = getenv("TERM");

        return isatty(STDERR_FILENO) && !(term && strcmp(term, "dumb") == 0);
}

static unsigned columns(void)
{
        struct winsize ws = {};

        if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) < 0 || ws.ws_col == 0)
                return KP_TTY_PROGRESS_DEFAULT_COLUMNS;
        return ws.ws_col;
}

/* With the lock held. One write, so a line never lands half-drawn between two of another thread's. */
static void draw(void)
{
        char line[KP_TTY_PROGRESS_TEXT_MAX + 64], clock[32];
        unsigned width = columns();
        size_t n, c;

        c = (size_t) snprintf(clock, sizeof(clock), " (%" PRIu64 " s)",
                              (kp_now_usec(CLOCK_MONOTONIC) - started) / USEC_PER_SEC);
        /* The last column stays empty: a terminal that wraps there would leave the line behind. */
        n = strlen(text);
        if (width > 1 && n + c > width - 1)
                n = width - 1 > c ? width - 1 - c : 0;
        (void) snprintf(line, sizeof(line), "\r\033[K%.*s%s", (int) n, text, clock);
        (void) fputs(line, stderr);
        (void) fflush(stderr);
        drawn = true;
}

static void clear(void)
{
        if (!drawn)
                return;
        (void) fputs("\r\033[K", stderr);
        (void) fflush(stderr);
        drawn = false;
}

static void *tick(void *userdata)
{
        pthread_mutex_lock(&lock);
        while (!stopping) {
                struct timespec ts;
                uint64_t at;

                (void) clock_gettime(CLOCK_MONOTONIC, &ts);
                at = (uint64_t) ts.tv_sec * USEC_PER_SEC + (uint64_t) ts.tv_nsec / 1000 + KP_TTY_PROGRESS_TICK_USEC;
                ts.tv_sec = (time_t) (at / USEC_PER_SEC);
                ts.tv_nsec = (long) (at % USEC_PER_SEC) * 1000;
                if (pthread_cond_timedwait(&wake, &lock, &ts) == ETIMEDOUT && !stopping)
                        draw();
        }
        pthread_mutex_unlock(&lock);
        return NULL;
}

int kp_tty_progress_begin(void)
{
        pthread_condattr_t attr;
        int r;

        if (active || !stderr_is_terminal())
                return active;
        /* The ticker waits on CLOCK_MONOTONIC, the clock the line counts with. */
        r = pthread_condattr_init(&attr);
        if (r == 0)
                r = pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
        if (r == 0) {
                pthread_cond_destroy(&wake);
                r = pthread_cond_init(&wake, &attr);
                pthread_condattr_destroy(&attr);
        }
        if (r != 0)
                return -r;

        pthread_mutex_lock(&lock);
        started = kp_now_usec(CLOCK_MONOTONIC);
        stopping = false;
        text[0] = '\0';
        r = pthread_create(&ticker, NULL, tick, NULL);
        if (r == 0) {
                active = true;
                draw();
        }
        pthread_mutex_unlock(&lock);
        return r == 0 ? 1 : -r;
}

void kp_tty_progress_set(const char *format, ...)
{
        va_list ap;

        pthread_mutex_lock(&lock);
        if (active) {
                va_start(ap, format);
                (void) vsnprintf(text, sizeof(text), format, ap);
                va_end(ap);
                /* Control characters (a guest's file names, say) would move the cursor. */
                for (char *p = text; *p; p++)
                        if ((unsigned char) *p < ' ' || *p == 0x7f)
                                *p = '?';
                draw();
        }
        pthread_mutex_unlock(&lock);
}

void kp_tty_progress_end(void)
{
        pthread_mutex_lock(&lock);
        if (!active) {
                pthread_mutex_unlock(&lock);
                return;
        }
        stopping = true;
        pthread_cond_signal(&wake);
        pthread_mutex_unlock(&lock);
        (void) pthread_join(ticker, NULL);

        pthread_mutex_lock(&lock);
        clear();
        active = false;
        pthread_mutex_unlock(&lock);
}

void kp_tty_progress_before_line(void)
{
        pthread_mutex_lock(&lock);
        if (active)
                clear();
}

void kp_tty_progress_after_line(void)
{
        if (active)
                draw();
        pthread_mutex_unlock(&lock);
}
