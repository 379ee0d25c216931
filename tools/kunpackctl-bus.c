/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Talking to kunpackd for the daemon verbs: finding and connecting to its
 * control socket, calling its methods, reporting their failures, and the
 * helpers the verbs print its answers with.
 */
#include <assert.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "client/bus-api.h"
#include "client/client.h"
#include "kunpackctl-bus.h"
#include "kunpackctl.h"
#include "settings/settings.h"
#include "util/error.h"
#include "util/log.h"

int load_settings(KpSettings **ret)
{
        KpError error = {};
        bool explicit_path;
        const char *path = kp_settings_choose_path(arg_config, &explicit_path);
        int r;

        assert(ret);

        r = kp_settings_load(path, explicit_path, &error, ret);
        if (r < 0)
                return log_error_errno(r, "%s", kp_error_message(&error, r));
        return 0;
}

/* --socket=, else what the settings say; settings NULL: kunpack.conf is read only if it is needed. */
static int socket_path(const KpSettings *settings, char **ret)
{
        _cleanup_(kp_settings_freep) KpSettings *loaded = NULL;
        int r;

        assert(ret);

        if (arg_socket) {
                *ret = strdup(arg_socket);
                return *ret ? 0 : -ENOMEM;
        }
        if (!settings) {
                r = load_settings(&loaded);
                if (r < 0)
                        return r;
                settings = loaded;
        }
        *ret = strdup(settings->socket_path);
        return *ret ? 0 : -ENOMEM;
}

int connect_daemon(const KpSettings *settings, sd_bus **ret)
{
        _cleanup_free_ char *path = NULL;
        KpError error = {};
        int r;

        assert(ret);

        r = socket_path(settings, &path);
        if (r < 0)
                return KPCTL_EXIT_USAGE;
        r = kp_client_connect(path, &error, ret);
        if (r < 0) {
                /* Says "kunpackd is not running" when nobody listens there; the hint when the socket refused us. */
                log_error("%s%s", kp_error_message(&error, r),
                          (r == -EACCES || r == -EPERM) && geteuid() != 0
                                  ? " (its socket is root's: run kunpackctl as root)"
                                  : "");
                return KPCTL_EXIT_UNAVAILABLE;
        }
        return KPCTL_EXIT_OK;
}

int call_failed(const char *method, int r, const sd_bus_error *e)
{
        assert(method);
        assert(r < 0);

        /*
         * The call's error (the daemon's, or sd-bus's own for a lost
         * connection) fails the verb, unless it is a refusal: then, as
         * when the call could not even be sent, there is no daemon to use.
         */
        if (sd_bus_error_is_set(e)) {
                log_error("%s", e->message ? e->message : e->name);
                return kp_client_call_outcome(r, e) == KP_CLIENT_REFUSED ? KPCTL_EXIT_UNAVAILABLE
                                                                          : KPCTL_EXIT_FAILURE;
        }
        log_error("%s: %s", method, strerror(-r));
        return KPCTL_EXIT_UNAVAILABLE;
}

int call_daemon(sd_bus *bus, const char *method, uint64_t timeout, sd_bus_message **ret, const char *types,
                ...)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        sd_bus_error e = SD_BUS_ERROR_NULL;
        va_list ap;
        int r;

        assert(bus);
        assert(method);
        assert(ret);

        r = sd_bus_message_new_method_call(bus, &m, NULL, KP_BUS_PATH, KP_BUS_INTERFACE, method);
        if (r >= 0 && types) {
                va_start(ap, types);
                r = sd_bus_message_appendv(m, types, ap);
                va_end(ap);
        }
        if (r >= 0)
                r = sd_bus_call(bus, m, timeout, &e, ret);
        if (r < 0) {
                r = call_failed(method, r, &e);
                sd_bus_error_free(&e);
                return r;
        }
        return KPCTL_EXIT_OK;
}

int parse_no_options(int argc, char **argv, const char *usage)
{
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "json", no_argument, NULL, 'j' },
                {}
        };
        int c;

        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        printf("Usage: kunpackctl %s\n", usage);
                        return 0;
                case 'j':
                        arg_json = true;
                        break;
                default:
                        return -EINVAL;
                }
        return 1;
}

void print_json_text(const char *text)
{
        fputs(text, stdout);
        fputc('\n', stdout);
}

const char *json_str(yajl_val v, const char *key)
{
        const char *s = kp_json_get_string(v, key);
        return s ? s : "-";
}

uint64_t json_uint(yajl_val v, const char *key)
{
        uint64_t u = 0;
        (void) kp_json_get_uint(v, key, &u);
        return u;
}

void format_time(uint64_t usec, char buf[64])
{
        time_t t = (time_t) (usec / USEC_PER_SEC);
        struct tm tm;

        if (usec == 0 || !localtime_r(&t, &tm) || strftime(buf, 64, "%Y-%m-%d %H:%M:%S", &tm) == 0)
                snprintf(buf, 64, "-");
}
