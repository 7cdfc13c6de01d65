"""`sim`: serve the built-in simulator over HTTP until Ctrl-C."""

from __future__ import annotations

import argparse
import sys

from nbtui.cli.output import EXIT_OK, EXIT_USAGE, say, say_error
from nbtui.config import ENV_TOKEN

__all__ = ["SimStartError", "cmd_sim"]


def cmd_sim(args: argparse.Namespace) -> int:
    from nbtui.sim import SimConfig
    from nbtui.sim.server import SimInfo, run_sim

    def ready(info: SimInfo) -> None:
        base_url = info.base_url
        if args.host in ("0.0.0.0", "::", "[::]"):  # noqa: S104 - naming it, not binding it
            # Every interface: a URL with 0.0.0.0 in it is not one a client can use.
            base_url = base_url.replace(f"//{args.host}:", "//127.0.0.1:").replace(
                "//[::]:", "//127.0.0.1:"
            )
            say(sys.stdout, f"Nano Banana simulator listening on all interfaces ({args.host})")
            say(sys.stdout, f"from this machine: {base_url}")
        else:
            say(sys.stdout, f"Nano Banana simulator listening on {base_url}")
        say(sys.stdout, f"token: {info.token}" if info.token else "token: (none required)")
        if info.task_ids:
            say(sys.stdout, f"{len(info.task_ids)} seeded task(s):")
            for task_id in info.task_ids:
                say(sys.stdout, f"  {task_id}")
        # nbtui itself always wants a token: with none required, any value will do.
        token_hint = f"{ENV_TOKEN}={info.token or 'any'} "
        say(sys.stdout, f"try: {token_hint}nbtui --base-url {base_url} get ID")
        say(sys.stdout, "Press Ctrl-C to stop.")

    from nbtui.sim.config import REAL_SHAPE_MIX
    from nbtui.sim.scenario import ScenarioError, load_scenario

    scenario = None
    config = SimConfig(shapes=REAL_SHAPE_MIX)
    if args.scenario is not None:
        try:
            scenario = load_scenario(args.scenario)
        except ScenarioError as exc:
            say_error(str(exc))
            return EXIT_USAGE
        config = scenario.config(config)
    if args.token is not None:
        config.token = args.token or None
    try:
        run_sim(
            args.host,
            args.port,
            config,
            seed_tasks=args.seed_tasks,
            demo=False,
            on_ready=ready,
            scenario=scenario,
        )
    except OSError as exc:
        raise SimStartError(
            f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}"
        ) from exc
    except KeyboardInterrupt:
        pass
    return EXIT_OK


class SimStartError(Exception):
    """The simulator could not bind its address (exit 1)."""
