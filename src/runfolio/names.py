"""Readable run names such as `brisk-otter`, for runs created without one."""

from __future__ import annotations

import random

_ADJECTIVES = (
    "amber agile bold brisk calm clever cosmic crisp daring eager fancy gentle golden "
    "hardy honest jolly keen lively lucky mellow mighty nimble noble plucky proud quick "
    "quiet rapid ruby shiny silver sleek smart snowy solar steady sunny swift tidy vivid "
    "witty zesty"
).split()
_ANIMALS = (
    "badger bison beaver cheetah condor corgi crane dingo eagle falcon ferret gecko heron "
    "ibis jaguar koala lemur lynx marmot mink moose narwhal ocelot orca otter panda "
    "pelican puffin quail raven salmon seal sparrow stork tapir tiger toucan walrus "
    "wombat yak zebra"
).split()


def run_name() -> str:
    return f"{random.choice(_ADJECTIVES)}-{random.choice(_ANIMALS)}"
