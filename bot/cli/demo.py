"""`voicebot demo`: the whole product on this machine in a few minutes, with the dashboard left up to look at."""

import signal
import time
import webbrowser
from pathlib import Path
from typing import Annotated

import typer

from bot.cli import TEST_ASR_MODEL, app, fail, settings
from bot.config import ROOT


@app.command("demo")
def demo(
    workdir: Annotated[Path, typer.Option(help="where the demo's PBX, database and recordings go")] = ROOT
    / "var"
    / "demo",
    port: Annotated[int, typer.Option(help="the platform's HTTP port (API and dashboard)")] = 8000,
    browser: Annotated[bool, typer.Option(help="open the dashboard in a browser")] = True,
) -> None:
    """Run two campaigns against simulated customers over real SIP, then keep the dashboard up.

    A local PBX (Kamailio), customers who answer with recorded Russian speech and a sales agent (baresip), the
    platform (`voicebot serve`, SQLite), and a reminder and an offer campaign created through the REST API.
    Ctrl-C ends everything.
    """
    from bot.devtools.demo import CALLER, CUSTOMERS, Demo, DemoError, Ports

    settings()
    # `kill` ends the demo as Ctrl-C does, cleaned up
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    run = Demo(workdir, TEST_ASR_MODEL, Ports(api=port))
    try:
        typer.echo(
            "starting the PBX, customers, agents and the platform (the first run trains a model, ~2 min)"
        )
        run.start(models_from=[ROOT / "var" / "rasa" / "models", ROOT / "var" / "test" / "rasa" / "models"])
        campaigns = run.run_campaigns()
        url = f"http://127.0.0.1:{port}/dashboard/"
        typer.echo(f"\ndashboard: {url}\nlog in with the API key {run.api_key}\n")
        if browser:
            webbrowser.open(url)
        typer.echo("the robot is calling the customers…")
        run.wait_until_every_customer_was_called(*campaigns.values())
        contacts = run.contacts(*campaigns.values())
        for customer in CUSTOMERS:
            contact = contacts[customer.phone]
            typer.echo(
                f"{customer.phone}  {customer.script:<9} {customer.does:<22} → {contact['last_result'] or '-':<22} "
                f"({contact['state']}, {contact['attempts']} attempt(s))"
            )
        typer.echo(f"\n{CALLER.phone} calls the company ({CALLER.does})…")
        run.call_in()
        inbound = run.wait_for_inbound_call()
        typer.echo(f"{CALLER.phone}  inbound   {CALLER.does:<22} → {inbound['outcome']}")
        typer.echo(f"\ncalls, transcripts and recordings: {url}\nCtrl-C ends the demo")
        while True:
            time.sleep(3600)
    except DemoError as exc:
        raise fail(str(exc)) from exc
    except KeyboardInterrupt:
        pass
    finally:
        run.stop()
