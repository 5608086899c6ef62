"""Alerting: which alerts a decision raises, and how each AlertProvider type posts them — pure; the shell
(`cronjob.shared.alerts`) only sends the requests rendered here.

    alerts.py     which alerts a decision raises (by message identity), who receives them (`deliveries`)
    notifier.py   the protocol every provider type follows (`Notifier`: `name`, `request(alert, target)`) and
                  its values (`NotifierTarget`, `AlertRequest`)
    slack.py, msteams.py, discord.py, generic.py   one module per provider type: its payload and address
    factory.py    `spec.type` -> notifier (`NOTIFIERS`, the one registry; `notifier_for`, `request_for`)
    providers.py  AlertProvider manifests: parsed and validated, resolved to a `NotifierTarget` (with the
                  Secret), and the global notifier

A new provider type is one module here and one entry in `factory.NOTIFIERS`.
"""
