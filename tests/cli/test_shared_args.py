"""``cogos run``, ``cogos experiment`` and ``cogos daemon`` take CONFIG and OVERRIDES (and the
first two ``--out``) from one declaration, so they cannot come to differ."""

import click

from cogos.cli.daemon_cmd import daemon
from cogos.cli.experiment_cmd import experiment
from cogos.cli.run_cmd import run


def shape(param: click.Parameter) -> tuple[object, ...]:
    return (
        type(param).__name__,
        param.name,
        tuple(param.opts),
        param.nargs,
        param.type.to_info_dict(),
    )


def test_config_overrides_and_out_are_declared_alike() -> None:
    assert [p.name for p in run.params[:3]] == ["config", "overrides", "out_dir"]
    assert [shape(p) for p in run.params[:3]] == [shape(p) for p in experiment.params[:3]]
    assert [shape(p) for p in daemon.params] == [shape(p) for p in run.params[:2]]


def test_out_keeps_each_commands_own_help() -> None:
    run_out, experiment_out = run.params[2], experiment.params[2]
    assert isinstance(run_out, click.Option) and isinstance(experiment_out, click.Option)
    assert run_out.help is not None and "runs/NAME-TIME" in run_out.help
    assert experiment_out.help is not None and "runs/experiments/NAME-TIME" in experiment_out.help
