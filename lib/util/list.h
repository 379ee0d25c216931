/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Intrusive doubly linked lists, for objects that come and go while
 * others are being walked (the daemon's guests, disks, connections,
 * workers, waiters): removal needs no search and no allocation. An object
 * carries KP_LIST_FIELDS(Type, name) and the list is a `Type *head`:
 *
 *   struct Disk { ...; KP_LIST_FIELDS(Disk, disks); };
 *   KP_LIST_PREPEND(disks, m->disks, d);
 *   KP_LIST_FOREACH(disks, d, m->disks) ...
 *   KP_LIST_REMOVE(disks, m->disks, d);
 *
 * KP_LIST_FOREACH_SAFE allows removing the current item while walking.
 */

#include <assert.h>

#define KP_LIST_FIELDS(type, name) type *name##_next, *name##_prev

#define KP_LIST_PREPEND(name, head, item)                                                                  \
        do {                                                                                               \
                typeof(*(head)) **_head = &(head), *_item = (item);                                        \
                assert(_item);                                                                             \
                if ((_item->name##_next = *_head))                                                         \
                        _item->name##_next->name##_prev = _item;                                           \
                _item->name##_prev = NULL;                                                                 \
                *_head = _item;                                                                            \
        } while (0)

#define KP_LIST_REMOVE(name, head, item)                                                                   \
        do {                                                                                               \
                typeof(*(head)) **_head = &(head), *_item = (item);                                        \
                assert(_item);                                                                             \
                if (_item->name##_next)                                                                    \
                        _item->name##_next->name##_prev = _item->name##_prev;                              \
                if (_item->name##_prev)                                                                    \
                        _item->name##_prev->name##_next = _item->name##_next;                              \
                else {                                                                                     \
                        assert(*_head == _item);                                                           \
                        *_head = _item->name##_next;                                                       \
                }                                                                                          \
                _item->name##_next = _item->name##_prev = NULL;                                            \
        } while (0)

#define KP_LIST_FOREACH(name, i, head) for (typeof(*(head)) *i = (head); i; i = i->name##_next)

#define KP_LIST_FOREACH_SAFE(name, i, n, head)                                                             \
        for (typeof(*(head)) *i = (head), *n = i ? i->name##_next : NULL; i;                               \
             i = n, n = i ? i->name##_next : NULL)
