/** Internal type. DO NOT USE DIRECTLY. */
type Exact<T extends { [key: string]: unknown }> = { [K in keyof T]: T[K] };
/** Internal type. DO NOT USE DIRECTLY. */
export type Incremental<T> = T | { [P in keyof T]?: P extends ' $fragmentName' | '__typename' ? T[P] : never };
import gql from 'graphql-tag';
import * as Urql from 'urql';
export type Maybe<T> = T | null;
export type InputMaybe<T> = Maybe<T>;
export type Omit<T, K extends keyof T> = Pick<T, Exclude<keyof T, K>>;
/** All built-in and custom scalars, mapped to their actual values */
export type Scalars = {
  ID: { input: string; output: string; }
  String: { input: string; output: string; }
  Boolean: { input: boolean; output: boolean; }
  Int: { input: number; output: number; }
  Float: { input: number; output: number; }
  /** A date-time string at UTC, such as 2007-12-03T10:15:30Z, compliant with the `date-time` format outlined in section 5.6 of the RFC 3339 profile of the ISO 8601 standard for representation of dates and times using the Gregorian calendar.This scalar is serialized to a string in ISO 8601 format and parsed from a string in ISO 8601 format. */
  DateTime: { input: string; output: string; }
};

export type Mutation = {
  __typename?: 'Mutation';
  /** Creates a task owned by the caller. */
  createTask: Task;
  /** Deletes one of the caller's tasks and returns it as it was. */
  deleteTask: Task;
  /** Changes the title of one of the caller's tasks. */
  renameTask: Task;
  /** Marks one of the caller's tasks completed or not. */
  setTaskCompleted: Task;
};


export type MutationCreateTaskArgs = {
  title: Scalars['String']['input'];
};


export type MutationDeleteTaskArgs = {
  expectedVersion: InputMaybe<Scalars['Int']['input']>;
  id: Scalars['ID']['input'];
};


export type MutationRenameTaskArgs = {
  expectedVersion: InputMaybe<Scalars['Int']['input']>;
  id: Scalars['ID']['input'];
  title: Scalars['String']['input'];
};


export type MutationSetTaskCompletedArgs = {
  completed: Scalars['Boolean']['input'];
  expectedVersion: InputMaybe<Scalars['Int']['input']>;
  id: Scalars['ID']['input'];
};

export type PageInfo = {
  __typename?: 'PageInfo';
  endCursor: Maybe<Scalars['String']['output']>;
  hasNextPage: Scalars['Boolean']['output'];
  hasPreviousPage: Scalars['Boolean']['output'];
  startCursor: Maybe<Scalars['String']['output']>;
};

export type Query = {
  __typename?: 'Query';
  /** One of the caller's tasks. FORBIDDEN if it is someone else's, NOT_FOUND if there is none. */
  task: Task;
  /** The caller's tasks as a Relay connection, newest first (first/after forwards, last/before backwards; at most 100 a page). */
  taskConnection: TaskConnection;
  /** The caller's tasks, newest first: all of them (at most 10000 in one answer, all `tasks` fields together; more is an error), or with `limit` (1–100) one page, continuing after `cursor`. (Pages are easier through taskConnection.) */
  tasks: Array<Task>;
};


export type QueryTaskArgs = {
  id: Scalars['ID']['input'];
};


export type QueryTaskConnectionArgs = {
  after: InputMaybe<Scalars['String']['input']>;
  before: InputMaybe<Scalars['String']['input']>;
  completed: InputMaybe<Scalars['Boolean']['input']>;
  first: InputMaybe<Scalars['Int']['input']>;
  last: InputMaybe<Scalars['Int']['input']>;
};


export type QueryTasksArgs = {
  completed: InputMaybe<Scalars['Boolean']['input']>;
  cursor: InputMaybe<Scalars['String']['input']>;
  limit: InputMaybe<Scalars['Int']['input']>;
};

export type Subscription = {
  __typename?: 'Subscription';
  /** The caller's task changes as they are committed, on any instance: after `after` (a cursor from an earlier event) every one missed, in order, once; without it, from now. Served over GraphQL-over-SSE (Accept: text/event-stream). */
  taskEvents: TaskEvent;
};


export type SubscriptionTaskEventsArgs = {
  after: InputMaybe<Scalars['String']['input']>;
};

/** A to-do item. Every task belongs to exactly one user: the `sub` of the token that created it. */
export type Task = {
  __typename?: 'Task';
  completed: Scalars['Boolean']['output'];
  createdAt: Scalars['DateTime']['output'];
  id: Scalars['ID']['output'];
  /** 1–500 characters, trimmed. */
  title: Scalars['String']['output'];
  updatedAt: Scalars['DateTime']['output'];
  /** The owner's user id (the JWT `sub`). */
  userId: Scalars['String']['output'];
  /** One more on every change. Pass it as `expectedVersion` to change the task only if no one else has since (REST: the ETag). */
  version: Scalars['Int']['output'];
};

export type TaskConnection = {
  __typename?: 'TaskConnection';
  edges: Array<TaskEdge>;
  pageInfo: PageInfo;
};

export type TaskEdge = {
  __typename?: 'TaskEdge';
  cursor: Scalars['String']['output'];
  node: Task;
};

/** A change to one of the caller's tasks, in commit order. */
export type TaskEvent = {
  __typename?: 'TaskEvent';
  /** Pass it as `after` to resume after this event. */
  cursor: Scalars['String']['output'];
  kind: TaskEventKind;
  /** The task after the change (as it was, for DELETED); null for RESET. */
  task: Maybe<Task>;
};

/** What happened. RESET: the cursor was older than the log keeps; reload the tasks, then go on from this cursor. */
export type TaskEventKind =
  | 'CREATED'
  | 'DELETED'
  | 'RESET'
  | 'UPDATED';

export type TaskFieldsFragment = { id: string, title: string, completed: boolean, version: number, userId: string, createdAt: string, updatedAt: string };

export type TasksQueryVariables = Exact<{ [key: string]: never; }>;


export type TasksQuery = { tasks: Array<{ id: string, title: string, completed: boolean, version: number, userId: string, createdAt: string, updatedAt: string }> };

export type CreateTaskMutationVariables = Exact<{
  title: string;
}>;


export type CreateTaskMutation = { createTask: { id: string, title: string, completed: boolean, version: number, userId: string, createdAt: string, updatedAt: string } };

export type SetTaskCompletedMutationVariables = Exact<{
  id: string;
  completed: boolean;
  expectedVersion: number | null | undefined;
}>;


export type SetTaskCompletedMutation = { setTaskCompleted: { id: string, title: string, completed: boolean, version: number, userId: string, createdAt: string, updatedAt: string } };

export type RenameTaskMutationVariables = Exact<{
  id: string;
  title: string;
  expectedVersion: number | null | undefined;
}>;


export type RenameTaskMutation = { renameTask: { id: string, title: string, completed: boolean, version: number, userId: string, createdAt: string, updatedAt: string } };

export type DeleteTaskMutationVariables = Exact<{
  id: string;
}>;


export type DeleteTaskMutation = { deleteTask: { id: string } };

export type TaskPageQueryVariables = Exact<{
  first: number;
  after: string | null | undefined;
  completed: boolean | null | undefined;
}>;


export type TaskPageQuery = { taskConnection: { edges: Array<{ cursor: string, node: { id: string, title: string, completed: boolean, version: number, userId: string, createdAt: string, updatedAt: string } }>, pageInfo: { hasNextPage: boolean, endCursor: string | null } } };

export type TaskEventsSubscriptionVariables = Exact<{
  after: string | null | undefined;
}>;


export type TaskEventsSubscription = { taskEvents: { cursor: string } };

export const TaskFieldsFragmentDoc = gql`
    fragment TaskFields on Task {
  id
  title
  completed
  version
  userId
  createdAt
  updatedAt
}
    `;
export const TasksDocument = gql`
    query Tasks {
  tasks {
    ...TaskFields
  }
}
    ${TaskFieldsFragmentDoc}`;

export function useTasksQuery(options?: Omit<Urql.UseQueryArgs<TasksQueryVariables>, 'query'>) {
  return Urql.useQuery<TasksQuery, TasksQueryVariables>({ query: TasksDocument, ...options });
};
export const CreateTaskDocument = gql`
    mutation CreateTask($title: String!) {
  createTask(title: $title) {
    ...TaskFields
  }
}
    ${TaskFieldsFragmentDoc}`;

export function useCreateTaskMutation() {
  return Urql.useMutation<CreateTaskMutation, CreateTaskMutationVariables>(CreateTaskDocument);
};
export const SetTaskCompletedDocument = gql`
    mutation SetTaskCompleted($id: ID!, $completed: Boolean!, $expectedVersion: Int) {
  setTaskCompleted(
    id: $id
    completed: $completed
    expectedVersion: $expectedVersion
  ) {
    ...TaskFields
  }
}
    ${TaskFieldsFragmentDoc}`;

export function useSetTaskCompletedMutation() {
  return Urql.useMutation<SetTaskCompletedMutation, SetTaskCompletedMutationVariables>(SetTaskCompletedDocument);
};
export const RenameTaskDocument = gql`
    mutation RenameTask($id: ID!, $title: String!, $expectedVersion: Int) {
  renameTask(id: $id, title: $title, expectedVersion: $expectedVersion) {
    ...TaskFields
  }
}
    ${TaskFieldsFragmentDoc}`;

export function useRenameTaskMutation() {
  return Urql.useMutation<RenameTaskMutation, RenameTaskMutationVariables>(RenameTaskDocument);
};
export const DeleteTaskDocument = gql`
    mutation DeleteTask($id: ID!) {
  deleteTask(id: $id) {
    id
  }
}
    `;

export function useDeleteTaskMutation() {
  return Urql.useMutation<DeleteTaskMutation, DeleteTaskMutationVariables>(DeleteTaskDocument);
};
export const TaskPageDocument = gql`
    query TaskPage($first: Int!, $after: String, $completed: Boolean) {
  taskConnection(first: $first, after: $after, completed: $completed) {
    edges {
      cursor
      node {
        ...TaskFields
      }
    }
    pageInfo {
      hasNextPage
      endCursor
    }
  }
}
    ${TaskFieldsFragmentDoc}`;

export function useTaskPageQuery(options: Omit<Urql.UseQueryArgs<TaskPageQueryVariables>, 'query'>) {
  return Urql.useQuery<TaskPageQuery, TaskPageQueryVariables>({ query: TaskPageDocument, ...options });
};
export const TaskEventsDocument = gql`
    subscription TaskEvents($after: String) {
  taskEvents(after: $after) {
    cursor
  }
}
    `;

export function useTaskEventsSubscription<TData = TaskEventsSubscription>(options?: Omit<Urql.UseSubscriptionArgs<TaskEventsSubscriptionVariables>, 'query'>, handler?: Urql.SubscriptionHandler<TaskEventsSubscription, TData>) {
  return Urql.useSubscription<TaskEventsSubscription, TData, TaskEventsSubscriptionVariables>({ query: TaskEventsDocument, ...options }, handler);
};