"""`voicebot demo`: the whole product on this machine in a few minutes, with the dashboard left up to look at."""

import time
import webbrowser
from pathlib import Path
from typing import Annotated

import typer

from bot.cli import app, fail, settings
from bot.config import ROOT
from bot.demo import CUSTOMERS, Demo, DemoError, Ports


@app.command("demo")
def demo(
    workdir: Annotated[Path, typer.Option(help="where the demo's PBX, database and recordings go")] = ROOT
    / "var"
    / "demo",
    port: Annotated[int, typer.Option(help="the platform's HTTP port (API and dashboard)")] = 8000,
    browser: Annotated[bool, typer.Option(help="open the dashboard in a browser")] = True,
) -> None:
    """Run a reminder campaign against five simulated customers over real SIP, then keep the dashboard up.

    A local PBX (Kamailio), customers who answer with recorded Russian speech (baresip), the platform
    (`voicebot serve`, SQLite) and the campaign created through the REST API. Ctrl-C ends everything.
    """
    settings()
    run = Demo(workdir, Ports(api=port))
    try:
        typer.echo(
            "starting the PBX, 5 customers and the platform (the first run trains the dialog model, ~2 min)"
        )
        run.start(models_from=[ROOT / "var" / "rasa" / "models", ROOT / "var" / "test" / "rasa" / "models"])
        campaign_id = run.run_campaign()
        url = f"http://127.0.0.1:{port}/dashboard/campaigns/{campaign_id}"
        typer.echo(f"\ndashboard: {url}\nlog in with the API key {run.api_key}\n")
        if browser:
            webbrowser.open(url)
        typer.echo("the robot is calling the customers…")
        run.wait_until_every_customer_was_called(campaign_id)
        contacts = run.contacts(campaign_id)
        for customer in CUSTOMERS:
            contact = contacts[customer.phone]
            typer.echo(
                f"{customer.phone}  {customer.does:<22} → {contact['last_result'] or '-':<22} "
                f"({contact['state']}, {contact['attempts']} attempt(s))"
            )
        typer.echo(f"\ncalls, transcripts and recordings: {url}\nCtrl-C ends the demo")
        while True:
            time.sleep(3600)
    except DemoError as exc:
        raise fail(str(exc)) from exc
    except KeyboardInterrupt:
        pass
    finally:
        run.stop()
