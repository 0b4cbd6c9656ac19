#!/bin/sh
. "$top_srcdir/tests/lib/libtest.sh"
skip_all "todo"
