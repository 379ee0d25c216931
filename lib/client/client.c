/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <systemd/sd-bus.h>
#include <unistd.h>

#include "client/bus-api.h"
#include "client/client.h"
#include "util/dlopen.h"

/*
 * libsystemd is loaded when a daemon's socket is there to connect to
 * (util/dlopen.h): kunpack-boot, when no kunpackd runs, never maps it and
 * the six libraries it brings, which would be half of its hot start.
 */
static void *systemd_dl;
#define KP_SD_BUS_SYMBOLS(X)                                                                               \
        X(sd_bus_new)                                                                                      \
        X(sd_bus_set_address)                                                                              \
        X(sd_bus_set_bus_client)                                                                           \
        X(sd_bus_start)                                                                                    \
        X(sd_bus_get_fd)                                                                                   \
        X(sd_bus_unref)                                                                                    \
        X(sd_bus_flush_close_unref)                                                                        \
        X(sd_bus_message_new_method_call)                                                                  \
        X(sd_bus_message_open_container)                                                                   \
        X(sd_bus_message_close_container)                                                                  \
        X(sd_bus_message_append)                                                                           \
        X(sd_bus_message_read)                                                                             \
        X(sd_bus_message_unref)                                                                            \
        X(sd_bus_call)                                                                                     \
        X(sd_bus_call_async)                                                                               \
        X(sd_bus_process)                                                                                  \
        X(sd_bus_wait)                                                                                     \
        X(sd_bus_is_open)                                                                                  \
        X(sd_bus_slot_unref)                                                                               \
        X(sd_bus_message_ref)                                                                              \
        X(sd_bus_message_is_signal)                                                                        \
        X(sd_bus_message_get_error)                                                                        \
        X(sd_bus_error_copy)                                                                               \
        X(sd_bus_error_set_errno)                                                                          \
        X(sd_bus_error_is_set)                                                                             \
        X(sd_bus_error_has_name)                                                                           \
        X(sd_bus_error_get_errno)                                                                          \
        X(sd_bus_error_free)

#define KP_SD_BUS_DEFINE(f) static KP_DLSYM(f);
KP_SD_BUS_SYMBOLS(KP_SD_BUS_DEFINE)
#undef KP_SD_BUS_DEFINE

static int load_systemd(KpError *error)
{
#define KP_SD_BUS_ARG(f) KP_DLSYM_ARG(f),
        return kp_dlopen_many(&systemd_dl, KP_SONAME_SYSTEMD, error, KP_SD_BUS_SYMBOLS(KP_SD_BUS_ARG) NULL);
#undef KP_SD_BUS_ARG
}

/*
 * This file uses nothing of libkunpack but the KpError type and the loader
 * above, so it fills KpError itself instead of calling util/error.c.
 */
static int fail(KpError *error, int code, const char *format, ...) __attribute__((format(printf, 3, 4)));
static int fail(KpError *error, int code, const char *format, ...)
{
        va_list ap;

        if (error) {
                error->code = code;
                va_start(ap, format);
                (void) vsnprintf(error->message, sizeof(error->message), format, ap);
                va_end(ap);
        }
        return code;
}

/* The round trip on top of the daemon's own deadline: a local socket, so a second is generous. */
#define KP_CLIENT_SLACK_USEC UINT64_C(1000000)

/* No deadline given: libxl's own, it kills a bootloader after 120 s (libxl_bootloader.c). */
#define KP_CLIENT_DEFAULT_TIMEOUT_USEC (UINT64_C(120) * 1000000)

/* A path in sockaddr_un.sun_path (108 bytes with the NUL). */
#define KP_CLIENT_MAX_SOCKET_PATH 107

void kp_prepare_reply_done(KpPrepareReply *reply)
{
        if (!reply)
                return;
        free(reply->kernel);
        free(reply->ramdisk);
        free(reply->args);
        free(reply->guest_kernel);
        free(reply->kernel_sha256);
        free(reply->detail);
        *reply = (KpPrepareReply){};
}

/* The errno a daemon error stands for (org.kunpack.Error.* and the standard D-Bus names). */
static int error_to_errno(const sd_bus_error *e)
{
        static const struct {
                const char *name;
                int code;
        } map[] = {
                { KP_BUS_ERROR_ACCESS_DENIED, EACCES },  { KP_BUS_ERROR_NO_SUCH_GUEST, ENOENT },
                { KP_BUS_ERROR_SCAN_FAILED, EIO },       { KP_BUS_ERROR_NOT_SUPPORTED, EOPNOTSUPP },
                { KP_BUS_ERROR_TIMEOUT, ETIMEDOUT },     { KP_BUS_ERROR_SHUTTING_DOWN, ESHUTDOWN },
        };
        int r;

        if (!e || !sym_sd_bus_error_is_set(e))
                return -EIO;
        for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
                if (sym_sd_bus_error_has_name(e, map[i].name))
                        return -map[i].code;
        r = sym_sd_bus_error_get_errno(e);
        return r > 0 ? -r : -EIO;
}

/* What an errno from a call means, whether sd-bus or the daemon said it. */
static KpClientOutcome call_errno_outcome(int r)
{
        switch (r) {
        case -ECONNRESET: /* sd-bus, when the daemon's end closed with the call in hand */
        case -EPIPE:
        case -ENOTCONN:
        case -ESHUTDOWN:  /* the daemon: it is stopping, it answers nothing more */
                return KP_CLIENT_LOST;
        case -EOPNOTSUPP:
                return KP_CLIENT_DECLINED;
        case -EACCES:
                return KP_CLIENT_REFUSED;
        default:
                return KP_CLIENT_FAILED;
        }
}

/*
 * What a failed connect means. Only here do -ENOENT and -ECONNREFUSED
 * mean nobody is there: from a call they are the daemon's own answer.
 */
static KpClientOutcome connect_outcome(int r)
{
        if (r == -ENOENT ||      /* no socket */
            r == -ECONNREFUSED)  /* a socket nobody listens on: a daemon that died */
                return KP_CLIENT_NO_DAEMON;
        if (r == -EPERM)         /* a listener that is not root: check_peer() */
                return KP_CLIENT_UNTRUSTED;
        return call_errno_outcome(r); /* -EACCES: a socket the caller may not open, a refusal too */
}

KpClientOutcome kp_client_call_outcome(int r, const sd_bus_error *e)
{
        assert(r < 0);
        /* e came from sd-bus, so libsystemd is in the process; this only finds it. */
        if (load_systemd(NULL) < 0)
                return KP_CLIENT_FAILED;

        /*
         * sd_bus_call() fills e for its own failures too (a connection
         * reset is System.Error.ECONNRESET), so e's errno is what counts
         * whoever set it.
         */
        return call_errno_outcome(sym_sd_bus_error_is_set(e) ? error_to_errno(e) : r);
}

/*
 * kunpackd runs as root; the socket's listener must too. SO_PEERCRED gives
 * the credentials the listener had when it called listen() (systemd's,
 * root, for a socket-activated kunpackd): another uid there has taken the
 * path, and what it answers could name any file as a kernel.
 */
static int check_peer(sd_bus *bus, const char *socket_path, KpError *error)
{
        struct ucred cred = {};
        socklen_t len = sizeof(cred);
        int fd = sym_sd_bus_get_fd(bus);

        if (fd < 0)
                return fail(error, fd, "cannot check who serves %s: %s", socket_path, strerror(-fd));
        if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
                return fail(error, -errno, "cannot check who serves %s: %s", socket_path, strerror(errno));
        if (cred.uid != 0)
                return fail(error, -EPERM, "%s is served by uid %u (pid %d), not root: not kunpackd, not asked",
                            socket_path, (unsigned) cred.uid, (int) cred.pid);
        return 0;
}

int kp_client_connect(const char *socket_path, KpError *error, sd_bus **ret)
{
        sd_bus *bus = NULL;
        char *address = NULL, *escaped;
        size_t n = 0;
        int r;

        assert(ret);

        /* The path is the admin's (kunpack.conf, --socket=): refused, not asserted. */
        if (!socket_path || socket_path[0] != '/' || strlen(socket_path) > KP_CLIENT_MAX_SOCKET_PATH)
                return fail(error, -EINVAL, "socket path \"%s\" is not an absolute path of at most %d bytes",
                            socket_path ? socket_path : "", KP_CLIENT_MAX_SOCKET_PATH);

        /* D-Bus addresses escape everything but [-0-9A-Za-z_/.\] as %XX. */
        /* No socket, no daemon: said without loading libsystemd to find out. */
        if (access(socket_path, F_OK) < 0 && errno == ENOENT)
                return fail(error, -ENOENT, "kunpackd is not running (%s: %s)", socket_path, strerror(ENOENT));
        r = load_systemd(error);
        if (r < 0)
                return r;

        escaped = malloc(strlen(socket_path) * 3 + 1);
        if (!escaped)
                return fail(error, -ENOMEM, "out of memory");
        for (const char *p = socket_path; *p; p++) {
                unsigned char c = (unsigned char) *p;
                if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                    strchr("-_/.\\", c))
                        escaped[n++] = (char) c;
                else
                        n += (size_t) sprintf(escaped + n, "%%%02x", c);
        }
        escaped[n] = '\0';
        r = asprintf(&address, "unix:path=%s", escaped);
        free(escaped);
        if (r < 0)
                return fail(error, -ENOMEM, "out of memory");

        r = sym_sd_bus_new(&bus);
        if (r >= 0)
                r = sym_sd_bus_set_address(bus, address);
        /* Peer to peer: the daemon is the other end, there is no bus to say Hello to. */
        if (r >= 0)
                r = sym_sd_bus_set_bus_client(bus, 0);
        if (r >= 0)
                r = sym_sd_bus_start(bus);
        free(address);
        if (r < 0) {
                sym_sd_bus_unref(bus);
                if (connect_outcome(r) == KP_CLIENT_NO_DAEMON)
                        return fail(error, r, "kunpackd is not running (%s: %s)", socket_path, strerror(-r));
                return fail(error, r, "cannot connect to kunpackd at %s: %s", socket_path, strerror(-r));
        }
        r = check_peer(bus, socket_path, error);
        if (r < 0) {
                sym_sd_bus_unref(bus);
                return r;
        }
        *ret = bus;
        return 0;
}

static int read_optional_string(sd_bus_message *m, char **ret)
{
        const char *s;
        int r;

        r = sym_sd_bus_message_read(m, "s", &s);
        if (r < 0)
                return r;
        if (!*s) {
                *ret = NULL;
                return 0;
        }
        *ret = strdup(s);
        return *ret ? 0 : -ENOMEM;
}

KpClientOutcome kp_client_prepare(const char *socket_path, const KpPrepareRequest *req, KpError *error,
                                  KpPrepareReply *ret)
{
        sd_bus *bus = NULL;
        KpClientOutcome o;
        int r;

        assert(req);
        assert(req->disks || req->n_disks == 0);
        assert(ret);

        /* kunpackctl builds the disk list from the daemon's Show: an empty one is not a bug here. */
        if (req->n_disks == 0 || (!req->dry_run && !req->output_directory))
                return fail(error, -EINVAL, "a prepare request needs a disk and an output directory"),
                       KP_CLIENT_FAILED;

        r = kp_client_connect(socket_path, error, &bus);
        if (r < 0)
                return connect_outcome(r);
        o = kp_client_prepare_on(bus, req, error, ret);
        sym_sd_bus_flush_close_unref(bus);
        return o;
}

typedef struct PrepareCall {
        sd_bus_message *reply;
        bool done;
} PrepareCall;

static int on_prepare_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error)
{
        PrepareCall *c = userdata;

        c->reply = sym_sd_bus_message_ref(reply);
        c->done = true;
        return 0;
}

/* The PrepareWaiting signal the daemon sends the caller whose start waits for a scan. */
static void dispatch_signal(sd_bus_message *msg, const KpPrepareRequest *req)
{
        const char *disk, *why;

        if (!req->on_waiting || !sym_sd_bus_message_is_signal(msg, KP_BUS_INTERFACE, "PrepareWaiting"))
                return;
        if (sym_sd_bus_message_read(msg, "ss", &disk, &why) >= 0)
                req->on_waiting(disk, why, req->userdata);
}

/*
 * sd_bus_call() with the daemon's signals passed on while it waits: the
 * call is sent asynchronously and the connection processed until its
 * reply (or sd-bus's own timeout, or the connection's end) arrives. Same
 * contract as sd_bus_call(): r < 0 with e set for error replies.
 */
static int call_prepare(sd_bus *bus, sd_bus_message *m, const KpPrepareRequest *req, sd_bus_error *e,
                        sd_bus_message **ret_reply)
{
        uint64_t timeout = (req->timeout_usec > 0 ? req->timeout_usec : KP_CLIENT_DEFAULT_TIMEOUT_USEC) +
                           KP_CLIENT_SLACK_USEC;
        PrepareCall c = {};
        sd_bus_slot *slot = NULL;
        const sd_bus_error *reply_error;
        int r;

        r = sym_sd_bus_call_async(bus, &slot, m, on_prepare_reply, &c, timeout);
        if (r < 0)
                return r;
        while (!c.done) {
                sd_bus_message *msg = NULL;

                r = sym_sd_bus_process(bus, &msg);
                if (msg) {
                        dispatch_signal(msg, req);
                        sym_sd_bus_message_unref(msg);
                }
                if (r < 0 && !c.done) {
                        /* As sd_bus_call() says it: System.Error.ECONNRESET and the like. */
                        (void) sym_sd_bus_error_set_errno(e, -r);
                        goto finish;
                }
                if (r != 0 || c.done)
                        continue;
                /* The call's own timeout wakes this up (sd-bus arms it), so no deadline of our own. */
                r = sym_sd_bus_wait(bus, UINT64_MAX);
                if (r < 0 && r != -EINTR) {
                        (void) sym_sd_bus_error_set_errno(e, -r);
                        goto finish;
                }
        }

        reply_error = sym_sd_bus_message_get_error(c.reply);
        if (!reply_error) {
                *ret_reply = c.reply;
                c.reply = NULL;
                r = 0;
                goto finish;
        }
        /*
         * sd-bus answers a call pending when the connection ends with a
         * made-up NoReply error, which would read as a timeout: a daemon
         * that went away is said as sd_bus_call() says it.
         */
        if (sym_sd_bus_is_open(bus) <= 0)
                r = sym_sd_bus_error_set_errno(e, ECONNRESET);
        else {
                r = sym_sd_bus_error_copy(e, reply_error);
                if (r >= 0)
                        r = -EIO;
        }

finish:
        sym_sd_bus_message_unref(c.reply);
        sym_sd_bus_slot_unref(slot);
        return r;
}

KpClientOutcome kp_client_prepare_on(sd_bus *bus, const KpPrepareRequest *req, KpError *error,
                                     KpPrepareReply *ret)
{
        sd_bus_error e = SD_BUS_ERROR_NULL;
        sd_bus_message *m = NULL, *reply = NULL;
        KpPrepareReply out = {};
        KpClientOutcome o = KP_CLIENT_FAILED;
        int hot = 0, r;

        assert(bus);
        assert(req);
        assert(req->disks || req->n_disks == 0);
        assert(ret);

        if (req->n_disks == 0 || (!req->dry_run && !req->output_directory))
                return fail(error, -EINVAL, "a prepare request needs a disk and an output directory"),
                       KP_CLIENT_FAILED;

        /* A bus from kp_client_connect(), which loaded libsystemd, or the caller's own: found either way. */
        r = load_systemd(error);
        if (r < 0)
                return KP_CLIENT_FAILED;

        r = sym_sd_bus_message_new_method_call(bus, &m, NULL, KP_BUS_PATH, KP_BUS_INTERFACE, "Prepare");
        if (r >= 0)
                r = sym_sd_bus_message_open_container(m, 'a', "(ss)");
        for (size_t i = 0; r >= 0 && i < req->n_disks; i++)
                r = sym_sd_bus_message_append(m, "(ss)", req->disks[i].path,
                                          req->disks[i].format ? req->disks[i].format : "raw");
        if (r >= 0)
                r = sym_sd_bus_message_close_container(m);
        if (r >= 0)
                r = sym_sd_bus_message_append(m, "ssssssttu", req->entry ? req->entry : "",
                                          req->mode ? req->mode : "direct", req->kernel ? req->kernel : "",
                                          req->ramdisk ? req->ramdisk : "", req->args ? req->args : "",
                                          req->output_directory ? req->output_directory : "", req->timeout_usec,
                                          (uint64_t) (req->dry_run ? KP_PREPARE_DRY_RUN : 0), req->domid);
        if (r < 0) {
                /* Building on a connection that broke already says so (-ENOTCONN). */
                o = kp_client_call_outcome(r, NULL);
                fail(error, r, "cannot build the Prepare call: %s", strerror(-r));
                goto finish;
        }

        r = call_prepare(bus, m, req, &e, &reply);
        if (r < 0) {
                o = kp_client_call_outcome(r, &e);
                if (sym_sd_bus_error_is_set(&e))
                        fail(error, error_to_errno(&e), "kunpackd: %s", e.message ? e.message : e.name);
                else
                        fail(error, r, "kunpackd did not answer: %s", strerror(-r));
                goto finish;
        }

        r = read_optional_string(reply, &out.kernel);
        if (r >= 0)
                r = read_optional_string(reply, &out.ramdisk);
        if (r >= 0) {
                const char *args;
                r = sym_sd_bus_message_read(reply, "s", &args);
                if (r >= 0 && !(out.args = strdup(args)))
                        r = -ENOMEM;
        }
        if (r >= 0)
                r = sym_sd_bus_message_read(reply, "b", &hot);
        if (r >= 0)
                r = read_optional_string(reply, &out.guest_kernel);
        if (r >= 0)
                r = read_optional_string(reply, &out.kernel_sha256);
        if (r >= 0)
                r = read_optional_string(reply, &out.detail);
        if (r >= 0 && !out.kernel && !req->dry_run)
                r = -EBADMSG;
        if (r < 0) {
                fail(error, r, "kunpackd's Prepare answer is malformed: %s", strerror(-r));
                kp_prepare_reply_done(&out);
                goto finish;
        }
        out.hot = hot;
        *ret = out;
        o = KP_CLIENT_ANSWERED;

finish:
        sym_sd_bus_error_free(&e);
        sym_sd_bus_message_unref(m);
        sym_sd_bus_message_unref(reply);
        return o;
}
