# Fails at import, as a module whose configuration is missing does.
raise RuntimeError("no configuration")


def handler(event, context):
    return {"statusCode": 200}
