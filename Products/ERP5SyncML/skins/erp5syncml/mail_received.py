## Script (Python) "mail_received"
##bind container=container
##bind context=context
##bind script=script
##parameters=theMail
##title=Hand a SyncML message that came by mail to the synchronization tool
# portal_mailin calls this script with the parsed mail; None means success,
# any other value is the reason the mail is refused (it bounces).
#
# The sending site names the publication or subscription of this site in
# the X-ERP5SyncML-Id header (a client also names its own subscription in
# X-ERP5SyncML-Reply-Id, for the master's answer).  A delivery report (a
# mail of ours that bounced) is recorded on the subscription that sent it.
# To force one side,
# copy this script into portal_skins/custom and call SubSync (on a client)
# or PubSync (on the master) yourself, as in:
#   tool.SubSync(sync_id, msg=message)
tool = context.portal_synchronizations
bounce = theMail.get('bounce')
if bounce is not None:
    # a mail of ours came back: the returned mail names our subscription
    sub_id = (bounce.get('headers') or {}).get('x-erp5syncml-reply-id')
    if sub_id and tool.getSubscription(sub_id) is not None:
        tool.SubSync(sub_id, bounce=bounce)
        return None
    return 'a delivery report about no subscription of this site'
headers = theMail.get('headers') or {}
sync_id = headers.get('x-erp5syncml-id') or theMail.get('localpart')
message = theMail.get('body')
if not message:
    for attachment in theMail.get('attachments') or []:
        if attachment.get('content_type') in ('application/vnd.syncml+xml',
                                              'application/vnd.syncml+wbxml',
                                              'application/pgp-encrypted'):
            message = attachment.get('data')
            break
if not sync_id or not message:
    return 'not a SyncML mail: no X-ERP5SyncML-Id header or no body'
if tool.getSubscription(sync_id) is not None:
    tool.SubSync(sync_id, msg=message)
elif tool.getPublication(sync_id) is not None:
    tool.PubSync(sync_id, msg=message,
                 reply_id=headers.get('x-erp5syncml-reply-id'))
else:
    return 'no publication or subscription %s on this site' % sync_id
return None
