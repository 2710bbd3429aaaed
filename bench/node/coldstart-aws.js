// The Node.js tutorial's stack at a cold start, doing before its first answer
// the three AWS calls our functions make before theirs (GET /auth/me: the
// keyring Query, the KMS Decrypt of the key that authenticates the signing
// keys, the route's own read), against the same moto: `lambda-bench --node`
// runs it as a fresh `node` process and times it from spawn to the line it
// prints. Like ../shared/bench/node-seed/coldstart-init.js, it requires
// speakeasy, jsonwebtoken and the AWS SDK v3 clients and builds both
// clients; then it calls them.
//
// Environment: AWS_ENDPOINT_URL (moto, or the bench's counting proxy),
// TABLE_NAME, KMS_KEY_ID, USER_ID (an account of that table).
const t0 = performance.now();
require('speakeasy');
require('jsonwebtoken');
const { DynamoDBClient, QueryCommand, GetItemCommand } = require('@aws-sdk/client-dynamodb');
const { KMSClient, DecryptCommand } = require('@aws-sdk/client-kms');

const { AWS_ENDPOINT_URL: endpoint, TABLE_NAME: table, KMS_KEY_ID: keyId, USER_ID: userId } = process.env;
const config = {
  region: process.env.AWS_REGION || 'us-east-1',
  endpoint,
  credentials: { accessKeyId: process.env.AWS_ACCESS_KEY_ID || 'testing', secretAccessKey: process.env.AWS_SECRET_ACCESS_KEY || 'testing' },
};
const ddb = new DynamoDBClient(config);
const kms = new KMSClient(config);

async function main() {
  const keyring = await ddb.send(new QueryCommand({
    TableName: table,
    KeyConditionExpression: 'pk = :pk',
    ExpressionAttributeValues: { ':pk': { S: 'KEYRING' } },
    ConsistentRead: true,
  }));
  const mac = keyring.Items.find((item) => item.sk.S.startsWith('MACKEY#'));
  const unwrapped = await kms.send(new DecryptCommand({
    KeyId: keyId,
    CiphertextBlob: mac.wrappedKey.B,
    EncryptionContext: { purpose: 'twofa-signing-key-mac', kid: mac.kid.S },
  }));
  const profile = await ddb.send(new GetItemCommand({
    TableName: table,
    Key: { pk: { S: `USER#${userId}` }, sk: { S: 'PROFILE' } },
    ConsistentRead: true,
  }));
  process.stdout.write(JSON.stringify({
    user: profile.Item && profile.Item.id ? profile.Item.id.S : null,
    keyring_items: keyring.Items.length,
    key_bytes: unwrapped.Plaintext.length,
    in_process_ms: Number((performance.now() - t0).toFixed(1)),
    since_process_start_ms: Number(performance.now().toFixed(1)),
  }) + '\n');
}

main().catch((err) => {
  process.stderr.write(`${err.stack || err}\n`);
  process.exit(1);
});
