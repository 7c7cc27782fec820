import lambdaws_fake_sdk


def handler(event, context):
    return lambdaws_fake_sdk.NAME
