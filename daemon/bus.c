/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The control socket: D-Bus in peer-to-peer mode on a unix socket (from
 * kunpackd.socket, or bound here), one sd-bus server connection per
 * accepted client, root only. See lib/client/bus-api.h for the methods.
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <systemd/sd-daemon.h>

#include "client/bus-api.h"
#include "daemon/bus-methods.h"
#include "daemon/bus.h"
#include "daemon/manager.h"
#include "daemon/registry.h"
#include "daemon/scheduler.h"
#include "util/error.h"
#include "util/fileio.h"
#include "util/log.h"
#include "util/messages.h"

/* Clients at once: an admin's kunpackctl and one kunpack-boot per starting domain; a host starts tens at once. */
#define KP_BUS_MAX_CONNECTIONS 512

int bus_reply_errno(sd_bus_message *call, int r, const char *message)
{
        static const struct {
                int code;
                const char *name;
        } map[] = {
                { EACCES, KP_BUS_ERROR_ACCESS_DENIED },  { EIO, KP_BUS_ERROR_SCAN_FAILED },
                { EOPNOTSUPP, KP_BUS_ERROR_NOT_SUPPORTED }, { ETIMEDOUT, KP_BUS_ERROR_TIMEOUT },
                { ESHUTDOWN, KP_BUS_ERROR_SHUTTING_DOWN },
        };
        int code = r < 0 ? -r : r;

        for (size_t i = 0; i < ELEMENTSOF(map); i++)
                if (map[i].code == code)
                        return sd_bus_reply_method_errorf(call, map[i].name, "%s", message);
        return sd_bus_reply_method_errnof(call, code, "%s", message);
}

static void connection_free(Connection *c)
{
        Manager *m = c->manager;

        KP_LIST_REMOVE(connections, m->connections, c);
        (void) sd_bus_detach_event(c->bus);
        sd_bus_flush_close_unref(c->bus);
        free(c);
}

static int on_message(sd_bus_message *msg, void *userdata, sd_bus_error *error)
{
        Connection *c = userdata;
        Manager *m = c->manager;

        if (sd_bus_message_is_signal(msg, "org.freedesktop.DBus.Local", "Disconnected")) {
                connection_free(c);
                return 1;
        }
        if (c->uid == 0)
                return 0;
        /* Not root: every call is refused, and said so in the log once per call. */
        if (sd_bus_message_is_method_call(msg, NULL, NULL)) {
                char uid[32], pid[32];
                /* Not _UID=/_PID=: journald drops any field a client sends with a leading underscore. */
                (void) snprintf(uid, sizeof(uid), "CALLER_UID=%u", (unsigned) c->uid);
                (void) snprintf(pid, sizeof(pid), "CALLER_PID=%d", (int) c->pid);
                kp_log_internal(LOG_WARNING, -EACCES, KP_FIELDS(KP_MESSAGE_ACCESS_DENIED, uid, pid),
                                "refused %s from uid %u (pid %d): kunpackd serves root only",
                                sd_bus_message_get_member(msg) ? sd_bus_message_get_member(msg) : "a call",
                                (unsigned) c->uid, (int) c->pid);
                (void) sd_bus_reply_method_errorf(msg, KP_BUS_ERROR_ACCESS_DENIED,
                                                  "kunpackd serves root only (you are uid %u)", (unsigned) c->uid);
        }
        (void) m;
        return 1;
}

static int connection_new(Manager *m, int fd)
{
        struct ucred cred = {};
        socklen_t len = sizeof(cred);
        Connection *c;
        size_t n = 0;
        int r;

        KP_LIST_FOREACH(connections, x, m->connections)
                n++;
        if (n >= KP_BUS_MAX_CONNECTIONS) {
                log_warning("too many clients (%zu): refusing a connection", n);
                safe_close(fd);
                return 0;
        }
        if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0) {
                r = -errno;
                safe_close(fd);
                return log_warning_errno(r, "cannot read a client's credentials: %m");
        }

        c = calloc(1, sizeof(Connection));
        if (!c) {
                safe_close(fd);
                return log_oom();
        }
        c->manager = m;
        c->uid = cred.uid;
        c->pid = cred.pid;

        r = sd_bus_new(&c->bus);
        if (r >= 0)
                r = sd_bus_set_fd(c->bus, fd, fd);
        if (r < 0) {
                safe_close(fd);
                sd_bus_unref(c->bus);
                free(c);
                return log_error_errno(r, "cannot set up a client connection: %s", strerror(-r));
        }
        const char *step = "server";
        r = sd_bus_set_server(c->bus, 1, m->server_id);
        if (r >= 0 && (step = "filter"))
                r = sd_bus_add_filter(c->bus, NULL, on_message, c);
        if (r >= 0 && c->uid == 0 && (step = "object"))
                r = bus_add_manager_object(m, c->bus);
        if (r >= 0 && (step = "event"))
                r = sd_bus_attach_event(c->bus, m->event, SD_EVENT_PRIORITY_NORMAL);
        if (r >= 0 && (step = "start"))
                r = sd_bus_start(c->bus);
        if (r < 0) {
                sd_bus_flush_close_unref(c->bus);
                free(c);
                return log_error_errno(r, "cannot start a client connection (%s): %s", step, strerror(-r));
        }
        KP_LIST_PREPEND(connections, m->connections, c);
        return 0;
}

static int on_accept(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
        Manager *m = userdata;
        int cfd;

        cfd = accept4(fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (cfd < 0) {
                if (errno != EAGAIN && errno != EINTR)
                        log_warning_errno(-errno, "accept failed: %m");
                return 0;
        }
        (void) connection_new(m, cfd);
        return 0;
}

/* A socket of our own when systemd did not pass one: the same path, mode 0600. */
static int bind_socket(Manager *m)
{
        _cleanup_close_ int fd = -EBADF;
        _cleanup_free_ char *dir = NULL;
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        struct stat st;
        mode_t old;
        char *slash;
        int r;

        if (strlen(m->socket_path) >= sizeof(sa.sun_path))
                return log_error_errno(-ENAMETOOLONG, "socket path %s is too long", m->socket_path);
        strcpy(sa.sun_path, m->socket_path);

        dir = strdup(m->socket_path);
        if (!dir)
                return log_oom();
        slash = strrchr(dir, '/');
        if (slash && slash != dir) {
                *slash = '\0';
                r = kp_mkdir_p(dir, 0755);
                if (r < 0)
                        return log_error_errno(r, "cannot create %s: %s", dir, strerror(-r));
        }

        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return log_error_errno(-errno, "cannot create a socket: %m");

        if (lstat(m->socket_path, &st) >= 0) {
                if (!S_ISSOCK(st.st_mode))
                        return log_error_errno(-EEXIST, "%s exists and is not a socket", m->socket_path);
                /* Another daemon answering there keeps it; a dead one's socket is replaced. */
                _cleanup_close_ int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
                if (probe >= 0 && connect(probe, (struct sockaddr *) &sa, sizeof(sa)) >= 0)
                        return log_error_errno(-EADDRINUSE, "another kunpackd answers on %s", m->socket_path);
                (void) unlink(m->socket_path);
        }

        old = umask(0177);
        r = bind(fd, (struct sockaddr *) &sa, sizeof(sa));
        umask(old);
        if (r < 0)
                return log_error_errno(-errno, "cannot bind %s: %m", m->socket_path);
        if (chmod(m->socket_path, 0600) < 0)
                return log_error_errno(-errno, "cannot chmod %s: %m", m->socket_path);
        if (listen(fd, SOMAXCONN) < 0)
                return log_error_errno(-errno, "cannot listen on %s: %m", m->socket_path);

        m->listen_bound = true;
        m->listen_fd = TAKE_FD(fd);
        return 0;
}

/*
 * kunpack-boot and kunpackctl find the daemon through socket_path, not
 * through the socket unit: a kunpackd.socket that listens elsewhere would
 * leave every start to fall back, silently. Say so, and report the socket
 * really listened on.
 */
static int passed_socket_path(Manager *m)
{
        struct sockaddr_un sa = {};
        socklen_t len = sizeof(sa);
        char *path;

        if (getsockname(m->listen_fd, (struct sockaddr *) &sa, &len) < 0)
                return log_error_errno(-errno, "cannot read the address of the socket systemd passed: %m");
        if (len <= offsetof(struct sockaddr_un, sun_path) || sa.sun_path[0] != '/')
                return 0;       /* abstract or unnamed: nothing to compare */
        path = strndup(sa.sun_path, len - offsetof(struct sockaddr_un, sun_path));
        if (!path)
                return log_oom();
        if (!streq(path, m->socket_path))
                log_warning("the socket systemd passed is %s, but socket_path is %s: kunpack-boot and kunpackctl "
                            "look there and will not find this daemon",
                            path, m->socket_path);
        free(m->socket_path);
        m->socket_path = path;
        return 0;
}

int bus_listen(Manager *m)
{
        int n, r;

        n = sd_listen_fds(1);
        if (n < 0)
                return log_error_errno(n, "cannot read the sockets systemd passed: %s", strerror(-n));
        if (n > 1)
                return log_error_errno(-EINVAL, "systemd passed %d sockets, expected one", n);
        if (n == 1) {
                if (sd_is_socket_unix(SD_LISTEN_FDS_START, SOCK_STREAM, 1, NULL, 0) <= 0)
                        return log_error_errno(-EINVAL, "the socket systemd passed is not a listening unix stream socket");
                m->listen_fd = SD_LISTEN_FDS_START;
                (void) fcntl(m->listen_fd, F_SETFD, FD_CLOEXEC);
                (void) fcntl(m->listen_fd, F_SETFL, O_NONBLOCK);
                log_debug("using the socket passed by systemd");
                r = passed_socket_path(m);
                if (r < 0)
                        return r;
        } else {
                r = bind_socket(m);
                if (r < 0)
                        return r;
        }

        r = sd_event_add_io(m->event, &m->listen_source, m->listen_fd, EPOLLIN, on_accept, m);
        if (r < 0)
                return log_error_errno(r, "cannot watch the socket: %s", strerror(-r));
        return 0;
}

void bus_close(Manager *m)
{
        while (m->connections)
                connection_free(m->connections);
        m->listen_source = sd_event_source_disable_unref(m->listen_source);
        if (m->listen_bound)
                (void) unlink(m->socket_path);
        m->listen_fd = safe_close(m->listen_fd);
}

static uint32_t scans_left(Manager *m)
{
        return (uint32_t) (scheduler_count(m, DISK_QUEUED) + scheduler_count(m, DISK_RUNNING));
}

void bus_emit_progress(Manager *m, Disk *d)
{
        KP_LIST_FOREACH(connections, c, m->connections)
                if (c->uid == 0)
                        (void) sd_bus_emit_signal(c->bus, KP_BUS_PATH, KP_BUS_INTERFACE, "ScanProgress", "sssuu",
                                                  disk_display_name(m, d), d->request.disk, d->step ? d->step : "",
                                                  d->percent, scans_left(m));
}

void bus_emit_finished(Manager *m, Disk *d)
{
        KP_LIST_FOREACH(connections, c, m->connections)
                if (c->uid == 0)
                        (void) sd_bus_emit_signal(c->bus, KP_BUS_PATH, KP_BUS_INTERFACE, "ScanFinished", "ssis",
                                                  disk_display_name(m, d), d->request.disk, d->last_error,
                                                  d->last_message ? d->last_message : "");
}
