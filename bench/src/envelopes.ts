import { encryptMessage, generateDeviceKeys, toPublicKeyBundle, type EncryptedMessageContent } from '../../libs/sdk/src/crypto';

/**
 * Well-formed E2E envelopes, encrypted once per distinct payload before a run and then reused by every
 * send, so the generator spends its core on sending, not on crypto. One envelope wraps the content key
 * for `recipients` devices, as a real client does for a conversation of that size.
 */
export function makeEnvelopes(opts: { count: number; recipients: number; conversationId?: string; senderId?: string; recipientIds?: string[] }): EncryptedMessageContent[] {
  const sender = generateDeviceKeys({ deviceId: 'bench-sender', withSigningKey: false });
  const devices = Array.from({ length: Math.max(1, opts.recipients) }, (_, i) => {
    const keys = generateDeviceKeys({ deviceId: `bench-device-${i}`, withSigningKey: false });
    const bundle = toPublicKeyBundle(keys);
    return { user_id: opts.recipientIds?.[i] ?? `bench-user-${i}`, device_id: bundle.device_id, key_version: bundle.key_version, public_key: bundle.public_key };
  });
  const sizes = [24, 60, 140, 300];
  return Array.from({ length: opts.count }, (_, i) =>
    encryptMessage({
      plaintext: 'x'.repeat(sizes[i % sizes.length]!),
      type: 'text',
      conversationId: opts.conversationId ?? 'bench-conversation',
      senderId: opts.senderId ?? 'bench-user-0',
      senderDevice: sender,
      recipients: devices,
    }),
  );
}
