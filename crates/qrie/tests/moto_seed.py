"""Seeds a moto server for the end-to-end CLI test (tests/aws_moto.rs) with boto3,
the way an operator's estate would have been built: account A (the ambient
credentials) and account B (reached by assuming a role), each with one
deliberate S3, IAM and EC2 mistake. Usage: moto_seed.py ENDPOINT_URL ACCOUNT_B
"""

import json
import sys

import boto3

endpoint, account_b = sys.argv[1], sys.argv[2]
base = dict(endpoint_url=endpoint, region_name="us-east-1")
creds_a = dict(aws_access_key_id="testing", aws_secret_access_key="testing")
sts = boto3.client("sts", **base, **creds_a)
c = sts.assume_role(RoleArn=f"arn:aws:iam::{account_b}:role/seed", RoleSessionName="seed")["Credentials"]
creds_b = dict(
    aws_access_key_id=c["AccessKeyId"], aws_secret_access_key=c["SecretAccessKey"], aws_session_token=c["SessionToken"]
)

STRONG = dict(
    MinimumPasswordLength=14, RequireSymbols=True, RequireNumbers=True, RequireUppercaseCharacters=True,
    RequireLowercaseCharacters=True, AllowUsersToChangePassword=True, MaxPasswordAge=90, PasswordReusePrevention=24,
)
ADMIN = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}


def account(creds, prefix, account_id):
    # The support role trusts the account's own principals: not a cross-account trust.
    trust = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{account_id}:root"}, "Action": "sts:AssumeRole"}]}
    iam = boto3.client("iam", **base, **creds)
    iam.update_account_password_policy(**STRONG)
    iam.create_role(RoleName="aws-support", AssumeRolePolicyDocument=json.dumps(trust))
    iam.attach_role_policy(RoleName="aws-support", PolicyArn="arn:aws:iam::aws:policy/AWSSupportAccess")
    # The mistake: a customer-managed policy granting everything.
    iam.create_policy(PolicyName=f"{prefix}-full-admin", PolicyDocument=json.dumps(ADMIN))

    s3 = boto3.client("s3", **base, **creds)
    # The mistake: a bucket anyone may read through its ACL.
    s3.create_bucket(Bucket=f"{prefix}-public-bucket")
    s3.put_bucket_acl(Bucket=f"{prefix}-public-bucket", ACL="public-read")

    ec2 = boto3.client("ec2", **base, **creds)
    vpc = ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"][0]["VpcId"]
    # The mistake: SSH open to the world.
    sg = ec2.create_security_group(GroupName=f"{prefix}-ssh", Description="ssh", VpcId=vpc)["GroupId"]
    ec2.authorize_security_group_ingress(
        GroupId=sg, IpPermissions=[{"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22,
                                    "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])


account(creds_a, "a", "123456789012")
account(creds_b, "b", account_b)

# A second region in account A (tests/aws_moto.rs: an account added without
# --region is swept in every enabled region): a web security group in eu-west-1.
ec2_eu = boto3.client("ec2", endpoint_url=endpoint, region_name="eu-west-1", **creds_a)
vpc_eu = ec2_eu.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"][0]["VpcId"]
ec2_eu.create_security_group(GroupName="a-eu-web", Description="web", VpcId=vpc_eu)
print("seeded")
